package main

import (
	"fmt"

	"github.com/imgpredict/worker/imageprep"
	"github.com/imgpredict/worker/internal/photo"
)

// goalPhotosPerCore is issue 12.6's aim for rotate + scale of a 12 MP
// phone photo.
const goalPhotosPerCore = 30

// photos are the figures of issue 12.6: one phone photo (EXIF
// orientation 6) prepared as the worker prepares it before a call, on
// one goroutine; CPU is the whole process's, GC included.
type photos struct {
	Width  int       `json:"width"`
	Height int       `json:"height"`
	Bytes  int       `json:"bytes"`
	Rotate photoPrep `json:"rotate"`
	Scaled photoPrep `json:"rotate_scale_1024"`
}

type photoPrep struct {
	MsPerImage float64 `json:"cpu_ms_per_image"`
	PerCore    float64 `json:"images_per_s_per_core"`
	OutOverIn  float64 `json:"bytes_out_over_in"`
}

// preparePhotos prepares a w×h phone photo rounds times with each
// setting the worker has for it.
func preparePhotos(w, h, rounds int) (photos, error) {
	data := photo.Phone(w, h)
	p := photos{Width: w, Height: h, Bytes: len(data)}
	for _, c := range []struct {
		to   *photoPrep
		opts imageprep.Options
	}{
		{&p.Rotate, imageprep.Options{Orient: true}},
		{&p.Scaled, imageprep.Options{Orient: true, MaxSide: 1024}},
	} {
		var img imageprep.Image
		start := costNow()
		for range rounds {
			var err error
			if img, err = imageprep.Prepare(data, c.opts); err != nil {
				return p, fmt.Errorf("prepare: %w", err)
			}
		}
		cpu := costNow().cpu - start.cpu
		c.to.MsPerImage = ms(cpu) / float64(rounds)
		c.to.PerCore = float64(rounds) / cpu.Seconds()
		c.to.OutOverIn = float64(len(img.Bytes)) / float64(len(data))
	}
	return p, nil
}
