package consumer

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

// message is one input message held by the worker, from pull to settle.
type message struct {
	msg     jetstream.Msg
	meta    *jetstream.MsgMetadata
	arrived time.Time
	event   schemas.Event      // zero when the message is not a valid event
	image   *schemas.ImageInfo // the image as sent, when the worker had its bytes
	tasks   []*task
	settled atomic.Bool // set by the ledger's settle, once
	span    trace.Span  // from pull to settle; nil when not traced

	mu    sync.Mutex
	bytes int64 // held in the byte budget
	left  int   // tasks not yet ended
	worst fate  // the ending that decides the settlement so far
	dead  int   // tasks that ended in a stored dead letter
}

// task is one model asked of one message's event. It ends as one stored
// result, one stored dead letter, or no output (retry, hand back).
type task struct {
	m     *message
	n     int             // index in m.tasks
	asked predictor.Model // the model asked, defaults filled
	oc    predictor.OutputConfig
	key   string // groups tasks that can share a call
	input predictor.Input

	doneKey  string     // its idempotency record, once looked up
	cacheKey string     // its image's cache record; "" when not cacheable
	led      string     // the cache key it leads: tasks with it wait on its call (twins)
	wait     trace.Span // its wait for a batch; nil when not traced
}

func (m *message) String() string {
	return fmt.Sprintf("%s/%d", m.meta.Stream, m.meta.Sequence.Stream)
}

func (m *message) source() schemas.Source {
	return schemas.Source{
		Stream:     m.meta.Stream,
		Sequence:   m.meta.Sequence.Stream,
		Subject:    m.msg.Subject(),
		Deliveries: m.meta.NumDelivered,
	}
}

// addTask appends a task for the model and output config asked; def fills
// what the event leaves empty. The input id is unique per delivery and
// task, so that two events with the same id (or a redelivery) in one call
// cannot be confused.
func (m *message) addTask(asked predictor.Model, oc predictor.OutputConfig, key string) *task {
	t := &task{m: m, n: len(m.tasks), asked: asked, oc: oc, key: key}
	id := make([]byte, 0, 40)
	id = strconv.AppendUint(append(id, 's'), m.meta.Sequence.Stream, 10)
	id = strconv.AppendUint(append(id, '-', 'd'), m.meta.NumDelivered, 10)
	if t.n > 0 {
		id = strconv.AppendInt(append(id, '-', 'm'), int64(t.n), 10)
	}
	t.input = predictor.Input{ID: string(id), URL: m.event.Image.URL, Bytes: m.event.Image.Bytes}
	m.tasks = append(m.tasks, t)
	m.left++
	return t
}

// end records how one task ended and reports the message's settlement
// once its last task has ended.
func (m *message) end(f fate) (settlement, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f.kind == deadLetter {
		m.dead++
	}
	if m.worst.kind == 0 || rank(f.kind) > rank(m.worst.kind) ||
		f.kind == retryLater && m.worst.kind == retryLater && f.delay > m.worst.delay {
		m.worst = f
	}
	m.left--
	if m.left > 0 {
		return settlement{}, false
	}
	switch {
	case m.worst.kind == handBack:
		return settlement{kind: nakNow}, true
	case m.worst.kind == retryLater:
		return settlement{kind: nakLater, delay: m.worst.delay}, true
	case m.dead == len(m.tasks):
		return settlement{kind: termIt, reason: m.worst.reason}, true
	}
	return settlement{kind: ackIt}, true
}

// rank orders endings: a hand-back beats a retry, which beats an output.
func rank(k fateKind) int {
	switch k {
	case handBack:
		return 3
	case retryLater:
		return 2
	}
	return 1
}

// request is the predictor request of a batch of tasks sharing one key.
// An image with the same cache key as one before it in the batch is sent
// once: input[i] is the index of task i's input in the request.
func request(batch []*task) (req predictor.Request, input []int) {
	if len(batch) == 0 {
		return req, nil
	}
	req = predictor.Request{Model: batch[0].asked, OutputConfig: batch[0].oc, Inputs: make([]predictor.Input, 0, len(batch))}
	input = make([]int, len(batch))
	var seen map[string]int
	for i, t := range batch {
		if t.cacheKey != "" {
			if j, ok := seen[t.cacheKey]; ok {
				input[i] = j
				continue
			}
			if seen == nil {
				seen = make(map[string]int)
			}
			seen[t.cacheKey] = len(req.Inputs)
		}
		input[i] = len(req.Inputs)
		req.Inputs = append(req.Inputs, t.input)
	}
	return req, input
}

// groupKey encodes what tasks must share to share a call. Each string is
// length-prefixed, so no two different groups can have the same key.
func groupKey(m predictor.Model, oc predictor.OutputConfig) string {
	b := make([]byte, 0, 96)
	for _, s := range [...]string{m.UserID, m.AppID, m.ID, m.VersionID} {
		b = appendField(b, s)
	}
	b = strconv.AppendUint(b, uint64(oc.MaxConcepts), 10)
	b = append(b, ';')
	b = strconv.AppendUint(b, uint64(math.Float32bits(oc.MinValue)), 16)
	b = append(b, ';')
	for _, c := range oc.SelectConcepts {
		b = appendField(appendField(b, c.ID), c.Name)
	}
	return string(b)
}

func appendField(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	return append(append(b, ':'), s...)
}

func schemaModel(m predictor.Model) schemas.Model {
	return schemas.Model{ID: m.ID, VersionID: m.VersionID, UserID: m.UserID, AppID: m.AppID}
}

// result turns a prediction into the published result. p.Model is the
// model that ran, filled by the predictor. Coordinates are clamped to
// [0, 1], as the schema promises.
func (t *task) result(p *predictor.Prediction, now time.Time) *schemas.Result {
	ev := &t.m.event
	r := &schemas.Result{
		SchemaVersion: schemas.Version,
		EventID:       ev.ID,
		Model:         schemaModel(p.Model),
		Status:        schemas.Status{Code: p.Status.Code, Description: p.Status.Description, ReqID: p.Status.ReqID},
		Concepts:      concepts(p.Concepts),
		Regions:       make([]schemas.Region, 0, len(p.Regions)),
		Metadata:      ev.Metadata,
		Image:         t.m.image,
		Source:        t.m.source(),
		PredictedAt:   now.UTC(),
	}
	if p.OutputID != "" || !p.CreatedAt.IsZero() {
		r.Output = &schemas.OutputInfo{ID: p.OutputID, CreatedAt: p.CreatedAt.UTC()}
	}
	for _, e := range p.Embeddings {
		r.Embeddings = append(r.Embeddings, schemas.Embedding{Vector: e.Vector, NumDimensions: e.NumDimensions})
	}
	for _, c := range p.Colors {
		out := schemas.Color{RawHex: c.RawHex, Value: c.Value}
		if c.W3CHex != "" || c.W3CName != "" {
			out.W3C = &schemas.W3CColor{Hex: c.W3CHex, Name: c.W3CName}
		}
		r.Colors = append(r.Colors, out)
	}
	for _, rg := range p.Regions {
		r.Regions = append(r.Regions, region(rg))
	}
	return r
}

func region(rg predictor.Region) schemas.Region {
	out := schemas.Region{ID: rg.ID, Value: rg.Value, Concepts: concepts(rg.Concepts), TrackID: rg.TrackID,
		Polygon: points(rg.Polygon), Keypoints: points(rg.Keypoints)}
	if b := rg.Box; b != nil {
		out.BoundingBox = &schemas.BoundingBox{TopRow: unit(b.TopRow), LeftCol: unit(b.LeftCol), BottomRow: unit(b.BottomRow), RightCol: unit(b.RightCol)}
	}
	if pt := rg.Point; pt != nil {
		p := point(*pt)
		out.Point = &p
	}
	if len(rg.Mask) > 0 {
		out.Mask = &schemas.Mask{PNG: rg.Mask}
	}
	return out
}

func points(ps []predictor.Point) []schemas.Point {
	if len(ps) == 0 {
		return nil
	}
	out := make([]schemas.Point, len(ps))
	for i, p := range ps {
		out[i] = point(p)
	}
	return out
}

func point(p predictor.Point) schemas.Point {
	return schemas.Point{Row: unit(p.Row), Col: unit(p.Col), Z: p.Z, Visibility: p.Visibility}
}

// unit clamps a normalised coordinate into [0, 1]; NaN becomes 0.
func unit(v float32) float32 {
	if v != v {
		return 0
	}
	return min(max(v, 0), 1)
}

func concepts(cs []predictor.Concept) []schemas.Concept {
	out := make([]schemas.Concept, len(cs))
	for i, c := range cs {
		out[i] = schemas.Concept{ID: c.ID, Name: c.Name, Value: c.Value}
	}
	return out
}

// deadLetter describes why the task will never get a result. For an
// event that asks several models it names the model.
func (t *task) deadLetter(f fate, now time.Time) *schemas.DeadLetter {
	var model *schemas.Model
	if len(t.m.event.Models) > 1 {
		m := schemaModel(t.asked)
		model = &m
	}
	return &schemas.DeadLetter{
		Model:         model,
		SchemaVersion: schemas.Version,
		EventID:       t.m.event.ID,
		Error:         schemas.ErrorInfo{Reason: f.reason, Code: f.code, Description: f.description},
		Attempts:      t.m.meta.NumDelivered,
		Original:      t.m.msg.Data(),
		Source:        t.m.source(),
		FailedAt:      now.UTC(),
	}
}
