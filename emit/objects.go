package emit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/schemas"
)

// putObject stores data under name unless the bucket already holds the
// same bytes there, which keeps re-emitting cheap and idempotent.
func (e *emitter) putObject(ctx context.Context, name, path string, data []byte) (*schemas.ObjectRef, error) {
	store, err := e.objectStore(ctx)
	if err != nil {
		return nil, err
	}
	ref := &schemas.ObjectRef{Bucket: e.cfg.Bucket, Name: name}
	if info, err := store.GetInfo(ctx, name); err == nil && info.Digest == objectDigest(data) {
		return ref, nil
	}
	meta := jetstream.ObjectMeta{Name: name, Metadata: map[string]string{"filename": filepath.Base(path)}}
	if _, err := store.Put(ctx, meta, bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("emit: put %s into bucket %s: %w", path, e.cfg.Bucket, err)
	}
	e.stats.Bytes += int64(len(data))
	return ref, nil
}

// objectStore binds the bucket, creating it if missing (another emitter
// may create it at the same moment).
func (e *emitter) objectStore(ctx context.Context) (jetstream.ObjectStore, error) {
	if e.objects != nil {
		return e.objects, nil
	}
	store, err := e.js.ObjectStore(ctx, e.cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		store, err = e.js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: e.cfg.Bucket})
		if errors.Is(err, jetstream.ErrBucketExists) {
			store, err = e.js.ObjectStore(ctx, e.cfg.Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("emit: object store bucket %s: %w", e.cfg.Bucket, err)
	}
	e.objects = store
	return store, nil
}
