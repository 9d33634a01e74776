// Package memo remembers, in two JetStream KV buckets, what the worker
// has already paid for: which events have their output stored (durable
// idempotency, beyond the results stream's duplicate window), and the
// prediction for an image already seen (a result cache by content).
//
// # What is stored
//
//   - The idempotency bucket (WORKER_IDEMPOTENCY_BUCKET,
//     "image-worker-done") holds one record per event and model whose
//     output is stored, under DoneKey(event id, model as asked). The value
//     is the caller's: the worker keeps where the output went.
//   - The cache bucket (WORKER_CACHE_BUCKET, "image-worker-cache") holds
//     one prediction per CacheKey: the image's bytes (base64 and Object
//     Store images) or, only with WORKER_CACHE_URLS=true, its URL (a URL's
//     content can change), with the model as asked (an empty version
//     means the latest, so a new latest version is seen only once the
//     record expires) and the output config. The value is the caller's
//     encoded result without its per-event fields.
//
// Keys are the first 128 bits of a SHA-256, in hex, over a
// length-prefixed encoding of the fields behind a tag naming the kind of
// record: never the raw ids, which may hold anything (KV keys allow few
// characters), and distinct inputs never share an encoding.
//
// # TTLs
//
// A bucket the worker creates has history 1, file storage,
// WORKER_STREAM_REPLICAS replicas and MaxAge equal to the TTL
// (WORKER_IDEMPOTENCY_TTL, default 72h; WORKER_CACHE_TTL, default 24h):
// a record expires that long after it was written. A TTL of 0 turns the
// bucket off: lookups find nothing, nothing is written and no bucket is
// made. A missing bucket is created when WORKER_CREATE_STREAMS is on; an
// existing one is used as it is, with its own MaxAge (a differing one is
// logged).
//
// # Cost
//
// Every event costs one idempotency lookup and one write, so both are
// cheap. Done and Cached ask for up to 128 keys in one batched direct get
// ($JS.API.DIRECT.GET.KV_<bucket> with a multi_last body), answered with
// one message per key found; a bucket that does not allow direct gets is
// read key by key (logged). Batched direct gets came with nats-server
// 2.11: on an older server the buckets stay unavailable (logged).
// MarkDone publishes to $KV.<bucket>.<key> without asking for a PubAck
// (the acknowledgement would cost the server and the worker as much again
// as the record); Remember publishes asynchronously, as a KV put does
// without waiting for its PubAck.
//
// On one in-process server sharing 2 loaded cores (BenchmarkDoneLookup128,
// three runs), a lookup of 128 keys took 3.0-4.8 µs a key with none
// found and 5.6-7.2 µs with half found, against 46-52 µs a key for 128
// sequential kv.Get calls: 8-17 times less, and one request instead of
// 128 (over a network, each of those is a round trip). Server and client
// together allocate 2.7 and 16 objects a key, against 50.
//
// A record of the idempotency bucket costs 103 bytes on disk per replica
// (a 30-byte record frame, the 54-byte subject
// $KV.image-worker-done.<key> and a 19-byte value) and about 190 bytes
// of the server's memory (its per-subject index), measured with 10^6
// records (BenchmarkMarkDone). Records live for the TTL, so 1,000 events
// a second kept 72h are 259 million records: about 27 GB of disk per
// replica and 49 GB of server memory. A cache record costs the same plus
// its value.
//
// # Outages
//
// KV trouble never stops the worker. While a bucket cannot be used
// (server unreachable, no permission, bucket deleted, no PubAck within
// 5s, a lookup past LookupTimeout) lookups answer "not found" at once,
// MarkDone and Remember return nil, worker_memo_available is 0 and one
// line is logged; Run looks again every RetryInterval and the bucket is
// used again, with one more log line, once it answers. Meanwhile the
// worker behaves as it does without the memo.
//
// # Permissions
//
// The worker's NATS user needs, for each bucket B that is on, to publish
// to $JS.API.STREAM.INFO.KV_B, $JS.API.DIRECT.GET.KV_B and $KV.B.>, and
// to subscribe to its inbox prefix (_INBOX.> by default) for the
// answers and PubAcks. Creating a bucket adds $JS.API.INFO and
// $JS.API.STREAM.CREATE.KV_B; reading a bucket without direct gets adds
// $JS.API.STREAM.MSG.GET.KV_B. A denied subject makes the bucket
// unavailable, as an outage does.
//
// # Metrics
//
//   - worker_idempotent_skips_total: keys Done found, events whose output
//     is already stored.
//   - worker_cache_hits_total: keys Cached found.
//   - worker_cache_misses_total: keys Cached did not find, the cache
//     being unavailable included (not counted while it is off).
//   - worker_memo_available{bucket}: 1 while the bucket is used, 0 while
//     it is not; only for buckets that are on.
//
// # Remaining edges
//
//   - An output stored whose MarkDone was not (a crash between the
//     output's PubAck and the record's, or the bucket unavailable) is
//     deduplicated only by the results stream's Nats-Msg-Id, inside its
//     duplicate window; a redelivery or re-publication after the window
//     is predicted again and gets a second result.
//   - A replicated bucket serves direct gets from every replica, and a
//     follower may lag its leader by a few milliseconds: a lookup right
//     after a write can miss it.
//   - Records are written after the output is stored, so two deliveries
//     of one event in flight at once (on two replicas) both miss.
package memo
