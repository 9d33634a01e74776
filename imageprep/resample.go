package imageprep

import "math"

// Resampling is separable Catmull-Rom (the cubic with B=0, C=1/2), widened
// by the reduction factor when shrinking so that every source pixel
// contributes: sharp, little ringing, and cheap enough for 8-bit fixed
// point. x/image/draw's CatmullRom gives the same filter on any
// image.Image, but took 60 ms for one 1512x1134 RGBA image here, which
// is the whole budget of an image; these planes take a fraction of that.

const (
	weightBits = 14
	weightOne  = 1 << weightBits
)

// taps are the fixed-point weights of one axis: output i is the sum of
// w[i*n : i*n+count[i]] times the source samples from start[i] on.
type taps struct {
	start, count []int32
	w            []int16
	n            int
}

func catmullRom(x float64) float64 {
	x = math.Abs(x)
	switch {
	case x < 1:
		return (1.5*x-2.5)*x*x + 1
	case x < 2:
		return ((-0.5*x+2.5)*x-4)*x + 2
	}
	return 0
}

func newTaps(srcN, dstN int) taps {
	ratio := float64(srcN) / float64(dstN)
	widen := max(ratio, 1)
	support := 2 * widen
	t := taps{n: int(math.Ceil(2*support)) + 1, start: make([]int32, dstN), count: make([]int32, dstN)}
	t.w = make([]int16, dstN*t.n)
	f := make([]float64, t.n)
	for i := range dstN {
		c := (float64(i)+0.5)*ratio - 0.5
		first := int(math.Floor(c-support)) + 1
		lo, hi := max(first, 0), min(first+t.n, srcN) // clamped window [lo, hi)
		clear(f)
		var sum float64
		for k := range t.n {
			v := catmullRom((float64(first+k) - c) / widen)
			j := min(max(first+k, lo), hi-1) - lo // edges absorb what lies beyond
			f[j] += v
			sum += v
		}
		n := hi - lo
		w := t.w[i*t.n : i*t.n+n]
		var total, big int
		for k := range w {
			w[k] = int16(math.Round(f[k] / sum * weightOne))
			total += int(w[k])
			if w[k] > w[big] {
				big = k
			}
		}
		w[big] += int16(weightOne - total) // exact unity gain
		t.start[i], t.count[i] = int32(lo), int32(n)
	}
	return t
}

func clampByte(acc int32) byte {
	v := (acc + weightOne/2) >> weightBits
	return byte(min(max(v, 0), 255))
}

// resample scales src into dst (same ch). A reduction by k >= 2 first
// averages k×k boxes, which leaves the filter a reduction between 1 and
// 2: a third of the taps for a 12 MP photo sent at 1024 pixels, at no
// visible cost, as JPEG's own DCT scaling would do it.
func resample(dst, src plane) {
	if kx, ky := src.w/dst.w, src.h/dst.h; kx >= 2 && ky >= 2 {
		src = boxShrink(src, kx, ky)
	}
	mid := newPlane(dst.w, src.h, src.ch)
	resampleRows(mid, src, newTaps(src.w, dst.w))
	resampleCols(dst, mid, newTaps(src.h, dst.h))
	if dst.ch == 4 {
		clampPremultiplied(dst)
	}
}

func resampleRows(dst, src plane, t taps) {
	ch := src.ch
	for y := range src.h {
		srow := src.pix[y*src.stride : y*src.stride+src.w*ch]
		drow := dst.pix[y*dst.stride : y*dst.stride+dst.w*ch]
		if ch == 1 { // the YCbCr planes: most of the work
			for x := range drow {
				w := t.w[x*t.n : x*t.n+int(t.count[x])]
				s := srow[int(t.start[x]):]
				s = s[:len(w)]
				var acc int32
				for k, wk := range w {
					acc += int32(wk) * int32(s[k])
				}
				drow[x] = clampByte(acc)
			}
			continue
		}
		for x := range dst.w {
			w := t.w[x*t.n : x*t.n+int(t.count[x])]
			s := srow[int(t.start[x])*ch:]
			for c := range ch {
				var acc int32
				for k, wk := range w {
					acc += int32(wk) * int32(s[k*ch+c])
				}
				drow[x*ch+c] = clampByte(acc)
			}
		}
	}
}

func resampleCols(dst, src plane, t taps) {
	n := dst.w * dst.ch
	acc := make([]int32, n)
	for y := range dst.h {
		clear(acc)
		start := int(t.start[y])
		for k, wk := range t.w[y*t.n : y*t.n+int(t.count[y])] {
			srow := src.pix[(start+k)*src.stride : (start+k)*src.stride+n]
			w := int32(wk)
			for x, v := range srow {
				acc[x] += w * int32(v)
			}
		}
		drow := dst.pix[y*dst.stride : y*dst.stride+n]
		for x, a := range acc {
			drow[x] = clampByte(a)
		}
	}
}

// clampPremultiplied keeps colour within alpha, which the filter's
// negative lobes can break and premultiplied RGBA must not.
func clampPremultiplied(p plane) {
	for y := range p.h {
		row := p.pix[y*p.stride : y*p.stride+p.w*4]
		for x := 0; x < len(row); x += 4 {
			a := row[x+3]
			row[x], row[x+1], row[x+2] = min(row[x], a), min(row[x+1], a), min(row[x+2], a)
		}
	}
}

// boxShrink averages kx×ky boxes of src; boxes at the right and bottom
// edges may be partial.
func boxShrink(src plane, kx, ky int) plane {
	ch := src.ch
	dst := newPlane((src.w+kx-1)/kx, (src.h+ky-1)/ky, ch)
	sum := make([]uint32, dst.w*ch)
	for oy := range dst.h {
		clear(sum)
		y0, y1 := oy*ky, min((oy+1)*ky, src.h)
		for y := y0; y < y1; y++ {
			row := src.pix[y*src.stride : y*src.stride+src.w*ch]
			if ch == 1 {
				for ox := range sum {
					var s uint32
					for _, v := range row[ox*kx : min((ox+1)*kx, src.w)] {
						s += uint32(v)
					}
					sum[ox] += s
				}
				continue
			}
			for ox := range dst.w {
				x0, x1 := ox*kx*ch, min((ox+1)*kx, src.w)*ch
				for i := x0; i < x1; i += ch {
					for c := range ch {
						sum[ox*ch+c] += uint32(row[i+c])
					}
				}
			}
		}
		drow := dst.pix[oy*dst.stride : oy*dst.stride+dst.w*ch]
		for ox := range dst.w {
			n := uint32((y1 - y0) * (min((ox+1)*kx, src.w) - ox*kx))
			for c := range ch {
				drow[ox*ch+c] = byte((sum[ox*ch+c] + n/2) / n)
			}
		}
	}
	return dst
}
