package consumer

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/imgpredict/worker/predictor"
	"github.com/imgpredict/worker/schemas"
)

// item is one input message on its way through the worker.
type item struct {
	msg     jetstream.Msg
	meta    *jetstream.MsgMetadata
	arrived time.Time
	bytes   int64 // held in the consumer's byte budget

	event schemas.Event
	group predictor.Request // Model and OutputConfig only
	key   string            // groups items that can share a call
	input predictor.Input
}

func (it *item) source() schemas.Source {
	return schemas.Source{
		Stream:     it.meta.Stream,
		Sequence:   it.meta.Sequence.Stream,
		Subject:    it.msg.Subject(),
		Deliveries: it.meta.NumDelivered,
	}
}

// prepare fills the item's group and input from its decoded event; defKey
// is groupKey of the default model with no output config, the usual case.
// The input id is unique per delivery, so that two events with the same
// id (or a redelivery) in one call cannot be confused.
func (it *item) prepare(def predictor.Model, defKey string) {
	ev := &it.event
	var id [48]byte
	b := strconv.AppendUint(append(id[:0], 's'), it.meta.Sequence.Stream, 10)
	b = strconv.AppendUint(append(b, '-', 'd'), it.meta.NumDelivered, 10)
	it.input = predictor.Input{ID: string(b), URL: ev.Image.URL, Bytes: ev.Image.Bytes}
	if ev.Model == nil && ev.OutputConfig == nil {
		it.group, it.key = predictor.Request{Model: def}, defKey
		return
	}
	m := def
	if ev.Model != nil {
		m = predictor.Model{
			UserID:    or(ev.Model.UserID, def.UserID),
			AppID:     or(ev.Model.AppID, def.AppID),
			ID:        or(ev.Model.ID, def.ID),
			VersionID: or(ev.Model.VersionID, def.VersionID),
		}
		if ev.Model.ID != "" && ev.Model.ID != def.ID && ev.Model.VersionID == "" {
			m.VersionID = "" // another model: the default version id means nothing there
		}
	}
	var oc predictor.OutputConfig
	if ev.OutputConfig != nil {
		oc = predictor.OutputConfig{
			MaxConcepts:    ev.OutputConfig.MaxConcepts,
			MinValue:       ev.OutputConfig.MinValue,
			SelectConcepts: conceptRefs(ev.OutputConfig.SelectConcepts),
		}
	}
	it.group = predictor.Request{Model: m, OutputConfig: oc}
	it.key = groupKey(m, oc)
}

func groupKey(m predictor.Model, oc predictor.OutputConfig) string {
	return strings.Join([]string{m.UserID, m.AppID, m.ID, m.VersionID,
		strconv.FormatUint(uint64(oc.MaxConcepts), 10),
		strconv.FormatFloat(float64(oc.MinValue), 'g', -1, 32),
		refsKey(oc.SelectConcepts),
	}, "\x00")
}

// conceptRefs selects by id: events name concepts by id only, for now.
func conceptRefs(ids []string) []predictor.ConceptRef {
	if len(ids) == 0 {
		return nil
	}
	refs := make([]predictor.ConceptRef, len(ids))
	for i, id := range ids {
		refs[i].ID = id
	}
	return refs
}

func refsKey(refs []predictor.ConceptRef) string {
	var b strings.Builder
	for _, r := range refs {
		b.WriteString(r.ID + "\x02" + r.Name + "\x01")
	}
	return b.String()
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func schemaModel(m predictor.Model) schemas.Model {
	return schemas.Model{ID: m.ID, VersionID: m.VersionID, UserID: m.UserID, AppID: m.AppID}
}

// result turns a prediction into the published result.
func (it *item) result(p *predictor.Prediction, now time.Time) *schemas.Result {
	ran := predictor.Model{
		UserID:    or(p.Model.UserID, it.group.Model.UserID),
		AppID:     or(p.Model.AppID, it.group.Model.AppID),
		ID:        or(p.Model.ID, it.group.Model.ID),
		VersionID: or(p.Model.VersionID, it.group.Model.VersionID),
	}
	r := &schemas.Result{
		SchemaVersion: schemas.Version,
		EventID:       it.event.ID,
		Model:         schemaModel(ran),
		Status:        schemas.Status{Code: p.Status.Code, Description: p.Status.Description, ReqID: p.Status.ReqID},
		Concepts:      concepts(p.Concepts),
		Regions:       make([]schemas.Region, 0, len(p.Regions)),
		Metadata:      it.event.Metadata,
		Source:        it.source(),
		PredictedAt:   now.UTC(),
	}
	for _, rg := range p.Regions {
		out := schemas.Region{ID: rg.ID, Value: rg.Value, Concepts: concepts(rg.Concepts)}
		if b := rg.Box; b != nil {
			out.BoundingBox = &schemas.BoundingBox{TopRow: b.TopRow, LeftCol: b.LeftCol, BottomRow: b.BottomRow, RightCol: b.RightCol}
		}
		if len(rg.Mask) > 0 {
			out.Mask = &schemas.Mask{PNG: rg.Mask}
		}
		r.Regions = append(r.Regions, out)
	}
	return r
}

func concepts(cs []predictor.Concept) []schemas.Concept {
	out := make([]schemas.Concept, len(cs))
	for i, c := range cs {
		out[i] = schemas.Concept{ID: c.ID, Name: c.Name, Value: c.Value}
	}
	return out
}

// deadLetter describes why the item will never get a result.
func (it *item) deadLetter(f fate, now time.Time) *schemas.DeadLetter {
	return &schemas.DeadLetter{
		SchemaVersion: schemas.Version,
		EventID:       it.event.ID,
		Error:         schemas.ErrorInfo{Reason: f.reason, Code: f.code, Description: f.description},
		Attempts:      it.meta.NumDelivered,
		Original:      it.msg.Data(),
		Source:        it.source(),
		FailedAt:      now.UTC(),
	}
}

func (it *item) String() string {
	return fmt.Sprintf("%s/%d", it.meta.Stream, it.meta.Sequence.Stream)
}
