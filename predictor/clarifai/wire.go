package clarifai

import (
	"cmp"

	"github.com/imgpredict/worker/predictor"
	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
	"github.com/imgpredict/worker/schemas"
)

// result is the fate of one input of one call.
type result struct {
	pred *predictor.Prediction
	err  *predictor.Error
}

// buildRequest encodes the inputs of req at positions idx as one call.
// Messages are allocated in slabs: a 128-input request costs a handful of
// allocations instead of three per input.
func buildRequest(req *predictor.Request, idx []int) *pb.PostModelOutputsRequest {
	n := len(idx)
	ptrs := make([]*pb.Input, n)
	inputs := make([]pb.Input, n)
	datas := make([]pb.Data, n)
	images := make([]pb.Image, n)
	for k, i := range idx {
		in := &req.Inputs[i]
		images[k].Url = in.URL
		images[k].Base64 = in.Bytes
		datas[k].Image = &images[k]
		inputs[k].Id = in.ID
		inputs[k].Data = &datas[k]
		ptrs[k] = &inputs[k]
	}
	out := &pb.PostModelOutputsRequest{
		UserAppId: &pb.UserAppIDSet{UserId: req.Model.UserID, AppId: req.Model.AppID},
		ModelId:   req.Model.ID,
		VersionId: req.Model.VersionID,
		Inputs:    ptrs,
	}
	if oc := outputConfig(req.OutputConfig); oc != nil {
		// model.model_version.output_info is where current clients put
		// overrides; the older model.output_info path is left unset.
		out.Model = &pb.Model{ModelVersion: &pb.ModelVersion{OutputInfo: &pb.OutputInfo{OutputConfig: oc}}}
	}
	return out
}

func outputConfig(c predictor.OutputConfig) *pb.OutputConfig {
	if c.MaxConcepts == 0 && c.MinValue == 0 && len(c.SelectConcepts) == 0 {
		return nil
	}
	oc := &pb.OutputConfig{MaxConcepts: c.MaxConcepts, MinValue: c.MinValue}
	if len(c.SelectConcepts) > 0 {
		concepts := make([]pb.Concept, len(c.SelectConcepts))
		oc.SelectConcepts = make([]*pb.Concept, len(c.SelectConcepts))
		for i, r := range c.SelectConcepts {
			// value 1 selects; only JSON requests get it by default.
			concepts[i].Id, concepts[i].Name, concepts[i].Value = r.ID, r.Name, 1
			oc.SelectConcepts[i] = &concepts[i]
		}
	}
	return oc
}

// mapResponse matches the outputs of one call to its inputs (req.Inputs at
// positions idx) and fills res[k] for each. Outputs are matched by the
// input id they echo; those that echo none of ours (no id, or one we did
// not send) take the input at their place, as long as the response has
// one output per input and every output matched by id is at its own
// place: Clarifai answers in request order (facts §5.3), and a response
// that is not in order cannot be matched by place. It returns a non-nil
// error instead when the response judges the call as a whole (no outputs
// to inspect).
func mapResponse(resp *pb.MultiOutputResponse, req *predictor.Request, idx []int, res []result) *predictor.Error {
	top := resp.GetStatus()
	reqID := top.GetReqId()
	outputs := resp.GetOutputs()
	if len(outputs) == 0 {
		if top.GetCode() == sc.StatusCode_SUCCESS {
			for k := range idx {
				res[k] = result{err: &predictor.Error{Class: predictor.TransientInput, Reason: schemas.ReasonOutputMissing,
					Description: "response has no output for this input", ReqID: reqID}}
			}
			return nil
		}
		return statusError(classifyStatus(uint32(top.GetCode())), top, reqID)
	}

	// claim[j] is the input output j answers (-1: none); state[k] counts
	// the outputs that claim input k, up to 2.
	buf := make([]int32, len(outputs)+len(idx))
	claim, state := buf[:len(outputs)], buf[len(outputs):]
	var byID map[string]int
	inOrder, unmatched := true, 0
	for j, o := range outputs {
		id := o.GetInput().GetId()
		k := -1
		switch {
		case j < len(idx) && req.Inputs[idx[j]].ID == id:
			k = j // the usual case: outputs in request order
		case id != "":
			if byID == nil {
				byID = make(map[string]int, len(idx))
				for k, i := range idx {
					byID[req.Inputs[i].ID] = k
				}
			}
			if kk, ok := byID[id]; ok {
				k, inOrder = kk, false
			}
		}
		claim[j] = int32(k)
		switch {
		case k < 0:
			unmatched++
		case state[k] < 2:
			state[k]++
		}
	}
	if unmatched > 0 && inOrder && len(outputs) == len(idx) {
		// Every output matched so far claims its own place, so the
		// places of the others are free.
		for j, k := range claim {
			if k < 0 {
				claim[j], state[j] = int32(j), 1
			}
		}
	}

	slabs := newPredSlabs(outputs, len(idx))
	for j, o := range outputs {
		k := claim[j]
		if k < 0 || state[k] != 1 {
			continue // no input of ours, or one claimed twice
		}
		st := o.GetStatus()
		if r := classifyOutput(uint32(st.GetCode())); r.class != 0 {
			res[k] = result{err: statusError(r, st, reqID)}
			continue
		}
		res[k] = result{pred: slabs.prediction(o, req.Model, reqID)}
	}
	for k, s := range state {
		switch s {
		case 0:
			res[k] = result{err: &predictor.Error{Class: predictor.TransientInput, Reason: schemas.ReasonOutputMissing,
				Description: "response has no output for this input", ReqID: reqID}}
		case 2:
			res[k] = result{err: &predictor.Error{Class: predictor.TransientInput, Reason: schemas.ReasonOutputDuplicate,
				Description: "response has several outputs for this input", ReqID: reqID}}
		}
	}
	return nil
}

func statusError(r rule, st *sc.Status, reqID string) *predictor.Error {
	desc := st.GetDescription()
	if d := st.GetDetails(); d != "" {
		if desc != "" {
			desc += ": "
		}
		desc += d
	}
	return &predictor.Error{Class: r.class, Code: uint32(st.GetCode()), Reason: r.reason, Description: desc, ReqID: reqID}
}

// predSlabs holds one allocation each for all predictions, concepts,
// regions, boxes, points, embeddings and colours of a response; each
// predictor.Prediction takes sub-slices, so the allocations of a response
// do not grow with its outputs. The counts are upper bounds (outputs that
// match no input are counted too), so appends never move a slab.
type predSlabs struct {
	preds      []predictor.Prediction
	concepts   []predictor.Concept
	regions    []predictor.Region
	boxes      []predictor.BoundingBox
	points     []predictor.Point
	embeddings []predictor.Embedding
	colors     []predictor.Color
}

func newPredSlabs(outputs []*pb.Output, inputs int) predSlabs {
	var nConcepts, nRegions, nBoxes, nPoints, nEmbeddings, nColors int
	for _, o := range outputs {
		d := o.GetData()
		nConcepts += len(d.GetConcepts())
		nRegions += len(d.GetRegions())
		nEmbeddings += len(d.GetEmbeddings())
		nColors += len(d.GetColors())
		for _, r := range d.GetRegions() {
			nConcepts += len(r.GetData().GetConcepts())
			ri := r.GetRegionInfo()
			if ri.GetBoundingBox() != nil {
				nBoxes++
			}
			if ri.GetPoint() != nil {
				nPoints++
			}
			nPoints += len(ri.GetPolygon().GetPoints()) + len(ri.GetKeypointLocations())
		}
	}
	return predSlabs{
		preds:      make([]predictor.Prediction, 0, min(len(outputs), inputs)),
		concepts:   make([]predictor.Concept, 0, nConcepts),
		regions:    make([]predictor.Region, 0, nRegions),
		boxes:      make([]predictor.BoundingBox, 0, nBoxes),
		points:     make([]predictor.Point, 0, nPoints),
		embeddings: make([]predictor.Embedding, 0, nEmbeddings),
		colors:     make([]predictor.Color, 0, nColors),
	}
}

func (s *predSlabs) prediction(o *pb.Output, asked predictor.Model, reqID string) *predictor.Prediction {
	m := o.GetModel()
	ran := predictor.Model{
		UserID:    cmp.Or(m.GetUserId(), asked.UserID),
		AppID:     cmp.Or(m.GetAppId(), asked.AppID),
		ID:        cmp.Or(m.GetId(), asked.ID),
		VersionID: cmp.Or(m.GetModelVersion().GetId(), asked.VersionID),
	}
	st := o.GetStatus()
	d := o.GetData()
	s.preds = append(s.preds, predictor.Prediction{
		Model:      ran,
		Status:     predictor.Status{Code: uint32(st.GetCode()), Description: st.GetDescription(), ReqID: reqID},
		OutputID:   o.GetId(),
		Concepts:   take(&s.concepts, d.GetConcepts(), concept),
		Embeddings: take(&s.embeddings, d.GetEmbeddings(), embedding),
		Colors:     take(&s.colors, d.GetColors(), color),
	})
	p := &s.preds[len(s.preds)-1]
	if ts := o.GetCreatedAt(); ts != nil {
		p.CreatedAt = ts.AsTime()
	}
	if rs := d.GetRegions(); len(rs) > 0 {
		start := len(s.regions)
		for _, r := range rs {
			ri := r.GetRegionInfo()
			reg := predictor.Region{
				ID:        r.GetId(),
				Value:     r.GetValue(),
				Mask:      ri.GetMask().GetImage().GetBase64(),
				Polygon:   take(&s.points, ri.GetPolygon().GetPoints(), point),
				Keypoints: take(&s.points, ri.GetKeypointLocations(), point),
				TrackID:   r.GetTrackId(),
				Concepts:  take(&s.concepts, r.GetData().GetConcepts(), concept),
			}
			if b := ri.GetBoundingBox(); b != nil {
				s.boxes = append(s.boxes, predictor.BoundingBox{
					TopRow: b.GetTopRow(), LeftCol: b.GetLeftCol(),
					BottomRow: b.GetBottomRow(), RightCol: b.GetRightCol(),
				})
				reg.Box = &s.boxes[len(s.boxes)-1]
			}
			if pt := ri.GetPoint(); pt != nil {
				s.points = append(s.points, point(pt))
				reg.Point = &s.points[len(s.points)-1]
			}
			s.regions = append(s.regions, reg)
		}
		p.Regions = s.regions[start:len(s.regions):len(s.regions)]
	}
	return p
}

// take converts src onto the end of *slab and returns the new part, capped
// so that appending to it cannot overwrite the next prediction's share.
func take[S any, T any](slab *[]T, src []S, conv func(S) T) []T {
	if len(src) == 0 {
		return nil
	}
	s := *slab
	start := len(s)
	for _, x := range src {
		s = append(s, conv(x))
	}
	*slab = s
	return s[start:len(s):len(s)]
}

func concept(c *pb.Concept) predictor.Concept {
	return predictor.Concept{ID: c.GetId(), Name: c.GetName(), Value: c.GetValue()}
}

// embedding shares the vector with the decoded response instead of
// copying it, as masks do: a 1024-float vector is 4 KiB per input.
func embedding(e *pb.Embedding) predictor.Embedding {
	return predictor.Embedding{Vector: e.GetVector(), NumDimensions: e.GetNumDimensions()}
}

func color(c *pb.Color) predictor.Color {
	return predictor.Color{RawHex: c.GetRawHex(), W3CHex: c.GetW3C().GetHex(), W3CName: c.GetW3C().GetName(), Value: c.GetValue()}
}

func point(p *pb.Point) predictor.Point {
	return predictor.Point{Row: p.GetRow(), Col: p.GetCol(), Z: p.GetZ(), Visibility: visibility(p.GetVisibility())}
}

func visibility(v pb.Point_Visibility) string {
	switch v {
	case pb.Point_VISIBLE:
		return predictor.VisibilityVisible
	case pb.Point_NOT_VISIBLE:
		return predictor.VisibilityNotVisible
	case pb.Point_NOT_PRESENT:
		return predictor.VisibilityNotPresent
	}
	return "" // NOT_SET, or a value newer than this code
}
