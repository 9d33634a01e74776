package local

import (
	"context"
	"image"
	"slices"
)

// analysis is what the pixels of one image say.
type analysis struct {
	width, height int
	clusters      []cluster // by share, largest first
	meanL         float64   // mean CIELAB lightness, 0-100
	greyFrac      float64   // share of samples with chroma < greyChroma
	vividFrac     float64   // share of samples with chroma >= vividChroma, not too dark
}

// cluster is one dominant colour and where it is.
type cluster struct {
	name  string
	mean  rgb // the mean of its samples in CIELAB, back in sRGB
	count int // full-resolution pixels
	share float64
	// bounding box in full-resolution pixels, max inclusive
	minX, minY, maxX, maxY int
	mask                   *image.Gray // 255 on the cluster, at mask resolution
}

const (
	greyChroma  = 10
	vividChroma = 40
	vividMinL   = 25 // darker saturated colours (navy, midnightblue) look dark, not vivid
	ctxRows     = 64 // rows between ctx checks
)

// analyse clusters a downsampled copy of img, then assigns every full
// resolution pixel to its nearest cluster for shares, boxes and masks.
func (p *Predictor) analyse(ctx context.Context, img image.Image) (*analysis, error) {
	pr := newPixelReader(img)
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	a := &analysis{width: w, height: h}

	samples, err := downsample(ctx, pr, w, h, p.cfg.SampleSize)
	if err != nil {
		return nil, err
	}
	for _, s := range samples {
		a.meanL += s.l
		switch c := s.chroma(); {
		case c < greyChroma:
			a.greyFrac++
		case c >= vividChroma && s.l >= vividMinL:
			a.vividFrac++
		}
	}
	n := float64(len(samples))
	a.meanL, a.greyFrac, a.vividFrac = a.meanL/n, a.greyFrac/n, a.vividFrac/n

	cents, names := consolidate(samples, kmeans(samples, p.cfg.Colors), p.cfg.MinShare)
	clusters, err := assign(ctx, pr, w, h, cents, names, p.cfg.MaskSize)
	if err != nil {
		return nil, err
	}
	a.clusters = clusters
	return a, nil
}

// downsample takes the pixels at the centres of a grid of at most size
// cells on the long side. Point samples, unlike box averages, never
// invent blends of neighbouring colours at the edges of shapes.
func downsample(ctx context.Context, pr *pixelReader, w, h, size int) ([]lab, error) {
	sw, sh := scaled(w, h, size)
	out := make([]lab, 0, sw*sh)
	row := make([]rgb, w)
	for sy := range sh {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		pr.row((2*sy+1)*h/(2*sh), row)
		for sx := range sw {
			out = append(out, toLab(row[(2*sx+1)*w/(2*sw)]))
		}
	}
	return out, nil
}

// scaled fits w x h into size on the long side, never enlarging.
func scaled(w, h, size int) (int, int) {
	long := max(w, h)
	if long <= size {
		return w, h
	}
	return max(1, (w*size+long/2)/long), max(1, (h*size+long/2)/long)
}

// consolidate names the centroids, merges those with the same name and
// drops those under minShare of the samples (keeping at least one), then
// refines the survivors; a few rounds settle it.
func consolidate(samples, cents []lab, minShare float64) ([]lab, []string) {
	for round := 0; ; round++ {
		counts := make([]int, len(cents))
		for _, s := range samples {
			counts[nearest(s, cents)]++
		}
		type group struct {
			sum   lab
			count int
		}
		groups := map[string]*group{}
		var order []string
		for i, c := range cents {
			if counts[i] == 0 {
				continue
			}
			name := nearestName(c)
			g := groups[name]
			if g == nil {
				g = &group{}
				groups[name] = g
				order = append(order, name)
			}
			f := float64(counts[i])
			g.sum = lab{g.sum.l + c.l*f, g.sum.a + c.a*f, g.sum.b + c.b*f}
			g.count += counts[i]
		}
		slices.SortStableFunc(order, func(x, y string) int { return groups[y].count - groups[x].count })
		var kept []lab
		var names []string
		for i, name := range order {
			g := groups[name]
			if i > 0 && float64(g.count) < minShare*float64(len(samples)) {
				continue
			}
			f := 1 / float64(g.count)
			kept = append(kept, lab{g.sum.l * f, g.sum.a * f, g.sum.b * f})
			names = append(names, name)
		}
		if len(kept) == len(cents) || round == 3 {
			return kept, names
		}
		cents = lloyd(samples, kept, 10)
	}
}

// assign maps every pixel to its nearest centroid through a lookup table
// on colours quantised to 5 bits a channel, counting pixels, growing
// boxes and filling masks. Clusters that get no pixel are left out.
func assign(ctx context.Context, pr *pixelReader, w, h int, cents []lab, names []string, maskSize int) ([]cluster, error) {
	var lut [1 << 15]uint8
	for i := range lut {
		lut[i] = 0xff
	}
	cl := make([]cluster, len(cents))
	for i := range cl {
		cl[i] = cluster{name: names[i], mean: fromLab(cents[i]), minX: w, minY: h, maxX: -1, maxY: -1}
	}
	mw, mh := scaled(w, h, maskSize)
	labels := make([]uint8, mw*mh)
	// Each mask pixel takes the label of the full-resolution pixel at its centre.
	maskCol := make([]int, mw)
	for mx := range maskCol {
		maskCol[mx] = (2*mx + 1) * w / (2 * mw)
	}
	my := 0
	row := make([]rgb, w)
	rowKeys := make([]uint16, w)
	rowLabel := make([]uint8, w)
	for y := range h {
		if y%ctxRows == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		pr.keys(y, rowKeys, row)
		for x, k := range rowKeys {
			ci := lut[k]
			if ci == 0xff {
				ci = uint8(nearest(toLab(pr.keyColor(k)), cents))
				lut[k] = ci
			}
			rowLabel[x] = ci
			c := &cl[ci]
			c.count++
			c.minX = min(c.minX, x)
			c.maxX = max(c.maxX, x)
			c.minY = min(c.minY, y)
			c.maxY = y
		}
		if my < mh && (2*my+1)*h/(2*mh) == y {
			for mx, x := range maskCol {
				labels[my*mw+mx] = rowLabel[x]
			}
			my++
		}
	}
	total := float64(w * h)
	out := cl[:0]
	for i, k := range cl {
		if k.count == 0 {
			continue
		}
		k.share = float64(k.count) / total
		k.mask = image.NewGray(image.Rect(0, 0, mw, mh))
		for j, l := range labels {
			if int(l) == i {
				k.mask.Pix[j] = 255
			}
		}
		out = append(out, k)
	}
	slices.SortStableFunc(out, func(x, y cluster) int { return y.count - x.count })
	return out, nil
}
