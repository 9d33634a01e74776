package local

import (
	"math/rand/v2"
)

// kmeansSeed makes clustering, and so every prediction, reproducible.
const kmeansSeed = 0x10ca1c010

// kmeans clusters samples into at most k groups with k-means++ seeding
// from a fixed seed, and returns the centroids. It returns fewer than k
// when the samples hold fewer distinct colours.
func kmeans(samples []lab, k int) []lab {
	rng := rand.New(rand.NewPCG(kmeansSeed, uint64(len(samples))))
	centroids := []lab{samples[rng.IntN(len(samples))]}
	d2 := make([]float64, len(samples))
	for len(centroids) < k {
		var total float64
		last := centroids[len(centroids)-1]
		for i, s := range samples {
			d := s.dist2(last)
			if len(centroids) == 1 || d < d2[i] {
				d2[i] = d
			}
			total += d2[i]
		}
		if total == 0 {
			break
		}
		target := rng.Float64() * total
		next := len(samples) - 1
		for i, d := range d2 {
			if target -= d; target < 0 {
				next = i
				break
			}
		}
		centroids = append(centroids, samples[next])
	}
	return lloyd(samples, centroids, 20)
}

// lloyd refines centroids by at most iters rounds of assign-and-average.
// A centroid that loses all its samples keeps its place.
func lloyd(samples, centroids []lab, iters int) []lab {
	assign := make([]int, len(samples))
	for i := range assign {
		assign[i] = -1
	}
	sums := make([]lab, len(centroids))
	counts := make([]int, len(centroids))
	for range iters {
		changed := false
		for i, s := range samples {
			if c := nearest(s, centroids); c != assign[i] {
				assign[i], changed = c, true
			}
		}
		if !changed {
			break
		}
		clear(sums)
		clear(counts)
		for i, s := range samples {
			c := assign[i]
			sums[c].l += s.l
			sums[c].a += s.a
			sums[c].b += s.b
			counts[c]++
		}
		for c, n := range counts {
			if n > 0 {
				f := 1 / float64(n)
				centroids[c] = lab{sums[c].l * f, sums[c].a * f, sums[c].b * f}
			}
		}
	}
	return centroids
}

func nearest(s lab, centroids []lab) int {
	best, bestD := 0, s.dist2(centroids[0])
	for c := 1; c < len(centroids); c++ {
		if d := s.dist2(centroids[c]); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
