package clarifaitest

import "time"

// QuotaCall is one call as the account quota judged it.
type QuotaCall struct {
	Time      time.Time
	Throttled bool
}

// accountQuota throttles every call beyond perSecond in any one second,
// counting the calls it let through.
type accountQuota struct {
	perSecond int
	passed    []time.Time // ring of the last perSecond calls let through
	oldest    int         // index of the oldest of them
	log       []QuotaCall
	throttled int
}

// EnforceQuota makes the server hold an account quota like Clarifai's:
// a call that would be the (perSecond+1)th let through within one second
// is answered with CONN_THROTTLED (11005) and no outputs, before any
// scripted failure. perSecond <= 0 turns the quota off. It resets the
// record of QuotaCalls and QuotaThrottled.
func (s *Server) EnforceQuota(perSecond int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quota = accountQuota{perSecond: max(perSecond, 0), passed: make([]time.Time, max(perSecond, 0))}
}

// QuotaCalls returns the calls the quota judged, oldest first (the most
// recent MaxRecords).
func (s *Server) QuotaCalls() []QuotaCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]QuotaCall(nil), s.quota.log...)
}

// QuotaThrottled is the number of calls the quota throttled.
func (s *Server) QuotaThrottled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quota.throttled
}

// overQuota judges a call arriving now; s.mu is held.
func (s *Server) overQuota(now time.Time) bool {
	q := &s.quota
	if q.perSecond == 0 {
		return false
	}
	over := !q.passed[q.oldest].IsZero() && now.Sub(q.passed[q.oldest]) < time.Second
	if over {
		q.throttled++
	} else {
		q.passed[q.oldest] = now
		q.oldest = (q.oldest + 1) % q.perSecond
	}
	if len(q.log) == MaxRecords {
		q.log = append(q.log[:0], q.log[MaxRecords/2:]...)
	}
	q.log = append(q.log, QuotaCall{Time: now, Throttled: over})
	return over
}
