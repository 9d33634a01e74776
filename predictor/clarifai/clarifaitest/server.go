package clarifaitest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/imgpredict/worker/predictor/clarifai/clarifaipb"
	sc "github.com/imgpredict/worker/predictor/clarifai/clarifaipb/statuspb"
)

// MaxRecords is how many recent requests a Server keeps for Requests.
const MaxRecords = 10000

// Request is the record of one call the server received.
type Request struct {
	Time          time.Time
	UserID        string
	AppID         string
	ModelID       string
	VersionID     string
	InputIDs      []string
	URLs          []string         // per input, "" for image bytes
	Images        [][]byte         // per input, the image bytes, kept only with RecordImages
	OutputConfig  *pb.OutputConfig // model.model_version.output_info.output_config, nil when none
	Authorization string           // the authorization metadata value
	Metadata      metadata.MD
}

// Server is a fake Clarifai V2 server. Its methods are safe for concurrent
// use. It implements clarifaipb.V2Server, so it can also be registered on
// another grpc.Server.
type Server struct {
	pb.UnimplementedV2Server
	lis  net.Listener
	grpc *grpc.Server

	mu           sync.Mutex
	latency      time.Duration
	throttle     int
	outage       sc.StatusCode // while not 0, every call is answered with it
	fails        []callFailure
	inputFails   map[string]*inputFailure
	shuffle      bool
	echo         bool
	omitIDs      bool
	recordImages bool
	outputTime   time.Time
	payloads     map[string]*pb.Data
	pat          string
	records      []Request
	calls        int
	inputs       int
	quota        accountQuota
}

type callFailure struct {
	n        int
	code     sc.StatusCode
	grpcCode codes.Code
}

type inputFailure struct {
	code  sc.StatusCode
	times int // remaining failures; <0 means always
}

// NewServer starts a server on 127.0.0.1 with a free port. It panics if it
// cannot listen, like httptest.NewServer.
func NewServer() *Server {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("clarifaitest: listen: %v", err))
	}
	return NewServerOn(lis)
}

// NewServerOn starts a server on lis, e.g. to serve other processes on a
// chosen address. Close closes lis.
func NewServerOn(lis net.Listener) *Server {
	s := &Server{
		lis:        lis,
		grpc:       grpc.NewServer(grpc.MaxRecvMsgSize(1<<30), grpc.MaxSendMsgSize(1<<30)),
		inputFails: map[string]*inputFailure{},
		payloads:   map[string]*pb.Data{},
	}
	pb.RegisterV2Server(s.grpc, s)
	go func() { _ = s.grpc.Serve(lis) }()
	return s
}

// Addr is the host:port to dial (plaintext).
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Close stops the server, ending calls in flight.
func (s *Server) Close() { s.grpc.Stop() }

// SetLatency makes every call take at least d before it is answered.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Throttle answers the next n calls with CONN_THROTTLED (11005) and no outputs.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle += n
}

// FailCalls answers the next n calls with the in-band status code and no
// outputs (gRPC OK, as Clarifai does).
func (s *Server) FailCalls(n int, code sc.StatusCode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = append(s.fails, callFailure{n: n, code: code})
}

// SetOutage answers every call with the in-band status code and no
// outputs until SetOutage(0): an account whose key was revoked, say.
func (s *Server) SetOutage(code sc.StatusCode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = code
}

// FailCallsGRPC ends the next n calls with a gRPC error of the given code.
func (s *Server) FailCallsGRPC(n int, code codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails = append(s.fails, callFailure{n: n, grpcCode: code})
}

// FailInput gives the input with this id an output with the status code
// and no data, the first times it is sent; times <= 0 means every time.
func (s *Server) FailInput(id string, code sc.StatusCode, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if times <= 0 {
		times = -1
	}
	s.inputFails[id] = &inputFailure{code: code, times: times}
}

// Shuffle returns outputs in random order when on.
func (s *Server) Shuffle(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shuffle = on
}

// EchoInputIDs, when on, adds to every successful output a first concept
// whose id is the input's id, so that a test can check that each result
// landed on its own input.
func (s *Server) EchoInputIDs(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.echo = on
}

// RecordImages, when on, keeps every input's image bytes in Requests.
func (s *Server) RecordImages(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordImages = on
}

// OmitInputIDs, when on, leaves the input id out of every output's input
// echo, as some models do; outputs stay in request order unless shuffled.
func (s *Server) OmitInputIDs(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.omitIDs = on
}

// SetOutputTime stamps every output's created_at with t; the zero time
// (the default) stamps the time of the call.
func (s *Server) SetOutputTime(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outputTime = t
}

// SetPayload sets what the model modelID says about every input; see
// Concepts, Boxes, Masks, Polygons, Keypoints, Embeddings and Colors, or
// combine their fields in one Data. Models without a payload answer Concepts("cat",
// "dog", "tree"). The Data is shared by all outputs: do not change it later.
func (s *Server) SetPayload(modelID string, data *pb.Data) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payloads[modelID] = data
}

// RequirePAT makes calls without "authorization: Key <pat>" fail with
// CONN_KEY_INVALID (11008) in-band, as Clarifai does.
func (s *Server) RequirePAT(pat string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pat = pat
}

// Requests returns the recorded calls, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.records...)
}

// Calls is the number of calls received.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Inputs is the number of inputs received over all calls.
func (s *Server) Inputs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inputs
}

var defaultPayload = Concepts("cat", "dog", "tree")

// PostModelOutputs answers like Clarifai: one output per input echoing its
// id, application errors in-band.
func (s *Server) PostModelOutputs(ctx context.Context, req *pb.PostModelOutputsRequest) (*pb.MultiOutputResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	auth := ""
	if v := md.Get("authorization"); len(v) > 0 {
		auth = v[0]
	}
	ids := make([]string, len(req.GetInputs()))
	urls := make([]string, len(req.GetInputs()))
	for k, in := range req.GetInputs() {
		ids[k] = in.GetId()
		urls[k] = in.GetData().GetImage().GetUrl()
	}

	s.mu.Lock()
	var images [][]byte
	if s.recordImages {
		for _, in := range req.GetInputs() {
			images = append(images, in.GetData().GetImage().GetBase64())
		}
	}
	s.calls++
	s.inputs += len(ids)
	if len(s.records) == MaxRecords {
		s.records = append(s.records[:0], s.records[MaxRecords/2:]...)
	}
	s.records = append(s.records, Request{
		Time: time.Now(), UserID: req.GetUserAppId().GetUserId(), AppID: req.GetUserAppId().GetAppId(),
		ModelID: req.GetModelId(), VersionID: req.GetVersionId(), InputIDs: ids, URLs: urls, Images: images,
		OutputConfig:  req.GetModel().GetModelVersion().GetOutputInfo().GetOutputConfig(),
		Authorization: auth, Metadata: md.Copy(),
	})
	reqID := fmt.Sprintf("fake-%d", s.calls)
	latency, pat := s.latency, s.pat
	opts := answerOpts{shuffle: s.shuffle, echo: s.echo, omitIDs: s.omitIDs, createdAt: s.outputTime}
	if opts.createdAt.IsZero() {
		opts.createdAt = time.Now()
	}
	var fail *callFailure
	throttled := false
	switch {
	case s.outage != 0:
		fail = &callFailure{code: s.outage}
	case s.overQuota(time.Now()):
		throttled = true
	case s.throttle > 0:
		s.throttle--
		throttled = true
	case len(s.fails) > 0:
		f := s.fails[0]
		fail = &f
		if s.fails[0].n--; s.fails[0].n <= 0 {
			s.fails = s.fails[1:]
		}
	}
	payload := s.payloads[req.GetModelId()]
	if payload == nil {
		payload = defaultPayload
	}
	inputCodes := make([]sc.StatusCode, len(ids))
	for k, id := range ids {
		if f := s.inputFails[id]; f != nil && f.times != 0 {
			inputCodes[k] = f.code
			if f.times > 0 {
				f.times--
			}
		}
	}
	s.mu.Unlock()

	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	top := func(code sc.StatusCode, desc string) *pb.MultiOutputResponse {
		return &pb.MultiOutputResponse{Status: &sc.Status{Code: code, Description: desc, ReqId: reqID}}
	}
	switch {
	case pat != "" && auth != "Key "+pat:
		return top(sc.StatusCode_CONN_KEY_INVALID, "Invalid API key or Invalid API key/application pair"), nil
	case throttled:
		return top(sc.StatusCode_CONN_THROTTLED, "Making too many requests"), nil
	case fail != nil && fail.grpcCode != codes.OK:
		return nil, status.Error(fail.grpcCode, "clarifaitest: scripted failure")
	case fail != nil:
		return top(fail.code, "clarifaitest: scripted failure"), nil
	}
	return answer(req, inputCodes, payload, reqID, opts), nil
}

// answerOpts are the scripted traits of one successful answer.
type answerOpts struct {
	shuffle, echo, omitIDs bool
	createdAt              time.Time
}

func answer(req *pb.PostModelOutputsRequest, failed []sc.StatusCode, payload *pb.Data, reqID string, opts answerOpts) *pb.MultiOutputResponse {
	model := &pb.Model{
		Id: req.GetModelId(), UserId: req.GetUserAppId().GetUserId(), AppId: req.GetUserAppId().GetAppId(),
		ModelVersion: &pb.ModelVersion{Id: cmp.Or(req.GetVersionId(), "fake-version")},
	}
	okStatus := &sc.Status{Code: sc.StatusCode_SUCCESS, Description: "Ok"}
	createdAt := timestamppb.New(opts.createdAt)
	outputs := make([]*pb.Output, len(req.GetInputs()))
	nFailed := 0
	for k, in := range req.GetInputs() {
		o := &pb.Output{
			Id:        fmt.Sprintf("%s-out-%d", reqID, k),
			CreatedAt: createdAt,
			Model:     model,
			Input:     &pb.Input{Id: in.GetId(), Data: &pb.Data{Image: &pb.Image{Url: in.GetData().GetImage().GetUrl()}}},
			Status:    okStatus,
			Data:      payload,
		}
		if opts.omitIDs {
			o.Input.Id = ""
		}
		switch {
		case failed[k] != sc.StatusCode_ZERO:
			nFailed++
			o.Status = &sc.Status{Code: failed[k], Description: "clarifaitest: scripted input failure"}
			o.Data = nil
		case opts.echo:
			d := &pb.Data{Concepts: make([]*pb.Concept, 0, len(payload.GetConcepts())+1), Regions: payload.GetRegions()}
			d.Concepts = append(d.Concepts, &pb.Concept{Id: in.GetId(), Name: "input-id", Value: 1})
			o.Data = d
			d.Concepts = append(d.Concepts, payload.GetConcepts()...)
		}
		outputs[k] = o
	}
	if opts.shuffle {
		rand.Shuffle(len(outputs), func(i, j int) { outputs[i], outputs[j] = outputs[j], outputs[i] })
	}
	code, desc := sc.StatusCode_SUCCESS, "Ok"
	switch {
	case nFailed == len(outputs) && nFailed > 0:
		code, desc = sc.StatusCode_FAILURE, "Failure"
	case nFailed > 0:
		code, desc = sc.StatusCode_MIXED_STATUS, "Mixed Success"
	}
	return &pb.MultiOutputResponse{Status: &sc.Status{Code: code, Description: desc, ReqId: reqID}, Outputs: outputs}
}
