package quota

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// ErrInvalidConfig wraps every configuration error of a Fleet.
var ErrInvalidConfig = errors.New("invalid quota config")

// Defaults of FleetConfig; zero fields take these.
const (
	DefaultBucket           = "image-worker-quota"
	DefaultRateLimit        = 15 // Clarifai's default quota, calls per second
	DefaultHeadroom         = 0.05
	DefaultThrottlePause    = 5 * time.Second
	DefaultHeartbeat        = time.Second
	DefaultMemberTTL        = 3 * time.Second
	DefaultOpTimeout        = time.Second
	DefaultFallbackReplicas = 3
	DefaultBucketReplicas   = 1
)

// FleetConfig tunes a Fleet. Every replica of a group must use the same
// RateLimit, Headroom and ThrottlePause.
type FleetConfig struct {
	// Group names the replicas that share one account's quota
	// (CLARIFAI_QUOTA_GROUP; the worker defaults it to WORKER_CONSUMER).
	Group string
	// Bucket is the KV bucket holding every group's records; it is
	// created (in memory) when missing.
	Bucket string
	// BucketReplicas is the replication of a bucket the Fleet creates.
	BucketReplicas int
	// NoCreate leaves a missing bucket missing (WORKER_CREATE_STREAMS=false):
	// the replica then holds to its fallback share and says why.
	NoCreate bool
	// RateLimit is the account's quota in calls per second, for the whole
	// group (CLARIFAI_RATE_LIMIT).
	RateLimit float64
	// Headroom is the fraction of RateLimit left unused, so that calls
	// that start a little late or are delayed on their way to Clarifai do
	// not crowd a one-second window over the quota.
	Headroom float64
	// ThrottlePause stops every call of the group for this long after a
	// throttling answer (CLARIFAI_THROTTLE_PAUSE).
	ThrottlePause time.Duration
	// Heartbeat is how often the replica refreshes its member record.
	Heartbeat time.Duration
	// MemberTTL is how long a member counts as live after its last
	// heartbeat was seen.
	MemberTTL time.Duration
	// OpTimeout bounds one KV operation; a replica whose operation fails or
	// times out falls back to a local share.
	OpTimeout time.Duration
	// FallbackReplicas divides the quota in fallback when the replica
	// never saw the group's members (CLARIFAI_QUOTA_FALLBACK_REPLICAS).
	FallbackReplicas int
	// MemberID names this replica's record; empty picks a random one.
	MemberID string
}

// SetDefaults fills unset fields with the defaults above.
func (c *FleetConfig) SetDefaults() {
	c.Bucket = cmp.Or(c.Bucket, DefaultBucket)
	c.BucketReplicas = cmp.Or(c.BucketReplicas, DefaultBucketReplicas)
	c.RateLimit = cmp.Or(c.RateLimit, DefaultRateLimit)
	c.Headroom = cmp.Or(c.Headroom, DefaultHeadroom)
	c.ThrottlePause = cmp.Or(c.ThrottlePause, DefaultThrottlePause)
	c.Heartbeat = cmp.Or(c.Heartbeat, DefaultHeartbeat)
	c.MemberTTL = cmp.Or(c.MemberTTL, DefaultMemberTTL)
	c.OpTimeout = cmp.Or(c.OpTimeout, DefaultOpTimeout)
	c.FallbackReplicas = cmp.Or(c.FallbackReplicas, DefaultFallbackReplicas)
}

// token is what a group, a bucket or a member id may hold: they become
// parts of KV keys and stream names.
var token = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate reports the first bad setting by the name a user types.
func (c FleetConfig) Validate() error {
	switch {
	case !token.MatchString(c.Group):
		return invalid("CLARIFAI_QUOTA_GROUP", "must be 1-64 letters, digits, '-' or '_' (it defaults to WORKER_CONSUMER), got %q", c.Group)
	case !token.MatchString(c.Bucket):
		return invalid("CLARIFAI_QUOTA_BUCKET", "must be 1-64 letters, digits, '-' or '_', got %q", c.Bucket)
	case c.BucketReplicas < 1 || c.BucketReplicas > 5:
		return invalid("WORKER_STREAM_REPLICAS", "must be 1-5, got %d", c.BucketReplicas)
	case c.RateLimit <= 0:
		return invalid("CLARIFAI_RATE_LIMIT", "must be positive, got %g", c.RateLimit)
	case c.Headroom < 0.01 || c.Headroom > 0.5:
		return invalid("FleetConfig.Headroom", "must be in [0.01, 0.5], got %g", c.Headroom)
	case c.ThrottlePause <= 0:
		return invalid("CLARIFAI_THROTTLE_PAUSE", "must be positive, got %s", c.ThrottlePause)
	case c.Heartbeat <= 0 || c.MemberTTL < 2*c.Heartbeat:
		return invalid("FleetConfig.MemberTTL", "must be at least twice FleetConfig.Heartbeat (%s), got %s", c.Heartbeat, c.MemberTTL)
	case c.OpTimeout <= 0:
		return invalid("FleetConfig.OpTimeout", "must be positive, got %s", c.OpTimeout)
	case c.FallbackReplicas < 1:
		return invalid("CLARIFAI_QUOTA_FALLBACK_REPLICAS", "must be at least 1, got %d", c.FallbackReplicas)
	case c.MemberID != "" && !token.MatchString(c.MemberID):
		return invalid("FleetConfig.MemberID", "must be 1-64 letters, digits, '-' or '_', got %q", c.MemberID)
	}
	return nil
}

func invalid(setting, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s", ErrInvalidConfig, setting, fmt.Sprintf(format, args...))
}
