// Package quota holds predict calls under a Clarifai account's quota
// (calls per second). Throttling answers pause every call and lower the
// rate until clean calls bring it back.
//
// Local limits one process (CLARIFAI_QUOTA_MODE=local): a token bucket
// with a burst of 1.
//
// Fleet shares one account's quota among all replicas of a group, through
// a NATS KV bucket (default image-worker-quota, in memory, created when
// missing), so that no new service is needed:
//
//   - The group's record <group>.schedule holds the next free call slot,
//     a throttle pause and a rate factor. A replica takes a call by
//     reserving the next slot with a compare-and-swap (no earlier than
//     now; the next one follows a gap of 1 / (RateLimit × (1 − Headroom)
//     × factor)), waits for it and calls. The group's calls are thus
//     spaced as evenly as one process's, whatever the number of replicas,
//     and no second holds more than the quota.
//   - A replica holds at most one reservation, made at most members × gap
//     ahead, so busy replicas take turns. An idle replica reserves
//     nothing: the busy ones get its share at once, without any estimate
//     of demand. A replica that starts, stops or dies changes only who
//     reserves the next slot, so shares move at the next slot, not after
//     a timeout.
//   - A slot whose call cannot start within 10 ms of it (a stalled
//     process, one resumed after SIGSTOP) is let go, and the replica
//     queues again behind the others: it never fires a stale reservation.
//   - A throttling answer writes the pause and halves the factor in the
//     record, once per pause for the whole group; each clean call anywhere
//     gives a twentieth back, folded into the next reservation.
//   - Each replica writes a heartbeat (<group>.member.<random id>) every
//     second and watches the group's keys; a member counts while its
//     heartbeats come (3 s), and a clean stop deletes its record. The
//     count sets the reservation window, the fallback share and
//     worker_quota_members. Liveness is judged by when each replica saw a
//     heartbeat: nats.go's per-key TTL (KeyTTL) is set only by Create and
//     dropped by every Update or Put, so a refreshed record cannot keep
//     one, and a bucket-wide TTL would expire the schedule too. The
//     bucket's one-minute age limit only clears the records of replicas
//     that died.
//   - When the bucket cannot be created or used (NATS down, no JetStream,
//     no permission, an operation over OpTimeout), the replica holds to a
//     local share: the group's rate over the members it last counted, or
//     over FallbackReplicas if it never did. It says so once in the log
//     and in worker_quota_fallback, and tries again every heartbeat. Back
//     in the group, it waits a second after its last local call, which
//     the schedule does not know about.
//
// Why a shared schedule rather than shares handed out by heartbeats:
// replicas that each space their own calls at their share line up
// independently, and one second can then hold one call more than its
// share from each of them (⌊share⌋ + 1), so three replicas would have to
// leave about three calls per second unused to stay under 15; a share also
// moves only once every replica has noticed the change, and lending needs
// a measure of demand. A leader handing out permits would add an election
// and a hop per call. The schedule costs one compare-and-swap per call
// (about a millisecond on a nearby server; RateLimit writes per second to
// the bucket) and relies on the replicas' clocks agreeing within a few
// milliseconds (NTP): slots are wall-clock times, and a skewed clock
// shortens the gap between two calls by at most the skew.
//
// Headroom (5 %) leaves room for the jitter of the way to Clarifai: the
// quota is judged where calls arrive, and a call delayed by more than
// about Headroom × 1 s lets the next ones into its second.
package quota
