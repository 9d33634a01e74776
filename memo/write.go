package memo

import (
	"errors"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// MarkDone records that the output of key's event is stored, with value
// (the caller's reference to it). It reports whether the record was sent:
// not when the records are off or unavailable, or key is not one DoneKey
// returns. The record is published without asking for a PubAck: every
// event writes one, and the acknowledgement would cost the server and
// the worker as much again as the record itself, to tell the worker
// what it would do nothing about (a record lost costs at most one call,
// later). A bucket that went away is noticed by Run and the lookups.
func (m *Memo) MarkDone(key string, value []byte) bool {
	if m.usable(m.done) == nil || !isKey(key) {
		return false
	}
	return m.nc.Publish(m.done.keyPrefix+key, value) == nil
}

// Remember stores value under a CacheKey. The write is asynchronous: the
// future resolves once JetStream stored it; nil means nothing is written
// (the cache is off or unavailable, or key is not one CacheKey returns).
// value must not change until the future resolves.
func (m *Memo) Remember(key string, value []byte) jetstream.PubAckFuture {
	return m.put(m.cache, key, value)
}

// put publishes to the key's subject in the bucket's stream, as a KV put
// does, without waiting for the PubAck.
func (m *Memo) put(b *bucket, key string, value []byte) jetstream.PubAckFuture {
	if m.usable(b) == nil || !isKey(key) {
		return nil
	}
	f, err := m.js.PublishAsync(b.keyPrefix+key, value)
	if err != nil {
		m.writeFailed(m.js, &nats.Msg{Subject: b.keyPrefix + key}, err)
		return nil
	}
	return f
}

// writeFailed sees every write that was not stored. No stream (the
// bucket was deleted) or no PubAck in time makes the bucket unavailable
// until Run has looked at it again; other failures (a full bucket, say)
// are logged, at most once per period.
func (m *Memo) writeFailed(_ jetstream.JetStream, msg *nats.Msg, err error) {
	b := m.bucketOf(msg.Subject)
	if b == nil {
		return
	}
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
		m.down(b, err)
		return
	}
	m.writeLog.Warn().Err(err).Str("bucket", b.name).Msg("memo record not written")
}

func (m *Memo) bucketOf(subject string) *bucket {
	for _, b := range m.buckets {
		if strings.HasPrefix(subject, b.keyPrefix) {
			return b
		}
	}
	return nil
}
