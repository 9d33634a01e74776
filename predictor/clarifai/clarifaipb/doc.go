// Package clarifaipb holds Go code generated from the project's hand-written,
// wire-compatible subset of Clarifai's API (proto/clarifai/api): the
// PostModelOutputs request and response and the V2 service client and server.
// Status messages and codes are in the statuspb subpackage.
//
// Do not edit the .pb.go files: change the .proto files and run
// `go generate ./predictor/...`. The output is committed and must be
// reproduced byte for byte (scripts/check-generate.sh checks it) with:
//
//   - protoc (libprotoc) 3.21.12, from Debian's protobuf-compiler package
//   - protoc-gen-go v1.36.12 and protoc-gen-go-grpc v1.6.2, pinned as tool
//     directives in go.mod and run through `go tool`
package clarifaipb

//go:generate sh -c "cd ../../.. && protoc -I proto --plugin=protoc-gen-go=$DOLLAR(go tool -n protoc-gen-go) --plugin=protoc-gen-go-grpc=$DOLLAR(go tool -n protoc-gen-go-grpc) --go_out=. --go_opt=module=github.com/imgpredict/worker --go-grpc_out=. --go-grpc_opt=module=github.com/imgpredict/worker proto/clarifai/api/resources.proto proto/clarifai/api/service.proto proto/clarifai/api/status/status.proto proto/clarifai/api/status/status_code.proto"
