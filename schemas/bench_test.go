package schemas

import (
	"fmt"
	"testing"
)

func BenchmarkDecodeEvent(b *testing.B) {
	data := []byte(`{"schema_version":1,"id":"upload-7f3c9a2e-4b1d-4c8e-9a57-2f1e0c3d5b6a",
		"image":{"url":"https://images.example.com/uploads/2026/11/22/7f3c9a2e.jpg?sig=abcdef0123456789"},
		"model":{"id":"general-image-recognition","user_id":"clarifai","app_id":"main"},
		"output_config":{"max_concepts":20,"min_value":0.5},
		"metadata":{"tenant":"acme","uploaded_by":"user-42","tags":["holiday","beach"],"size":{"w":4032,"h":3024}}}`)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEvent(data); err != nil {
			b.Fatal(err)
		}
	}
}

// benchResult has 20 concepts and 5 regions with boxes.
func benchResult() Result {
	concepts := make([]Concept, 20)
	for i := range concepts {
		concepts[i] = Concept{ID: fmt.Sprintf("ai_%08d", i), Name: fmt.Sprintf("concept %d", i), Value: 1 - float32(i)/25}
	}
	regions := make([]Region, 5)
	for i := range regions {
		regions[i] = Region{
			ID:          fmt.Sprintf("region-%d", i),
			Value:       0.9 - float32(i)/10,
			BoundingBox: &BoundingBox{TopRow: 0.1, LeftCol: 0.2, BottomRow: 0.6, RightCol: 0.7},
			Concepts:    concepts[:3],
		}
	}
	r := fullResult()
	r.Concepts, r.Regions = concepts, regions
	return r
}

// BenchmarkEncodeResult encodes as the publisher does.
func BenchmarkEncodeResult(b *testing.B) {
	r := benchResult()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeResultEmbedding encodes the result of an embedding
// model: one vector of 1024 numbers, as the publisher does.
func BenchmarkEncodeResultEmbedding(b *testing.B) {
	r := fullResult()
	r.Concepts, r.Regions = nil, nil
	vec := make([]float32, 1024)
	for i := range vec {
		vec[i] = float32(i%97)/97 - 0.5
	}
	r.Embeddings = []Embedding{{Vector: vec, NumDimensions: uint32(len(vec))}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}
