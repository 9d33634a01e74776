package imageprep

// orient writes src, stored with EXIF orientation o, upright into dst,
// whose size is src's, swapped for orientations 5-8. Each orientation is
// a walk over src: where output row 0 starts and the byte steps for the
// next output pixel (sx) and the next output row (sy).
func orient(dst, src plane, o int) {
	w, h, s, ch := src.w, src.h, src.stride, src.ch
	last, bottom := (w-1)*ch, (h-1)*s
	var base, sx, sy int
	switch o {
	case 2: // mirrored left to right
		base, sx, sy = last, -ch, s
	case 3: // turned 180°
		base, sx, sy = bottom+last, -ch, -s
	case 4: // mirrored top to bottom
		base, sx, sy = bottom, ch, -s
	case 5: // transposed
		base, sx, sy = 0, s, ch
	case 6: // needs a 90° clockwise turn
		base, sx, sy = bottom, -s, ch
	case 7: // transversed
		base, sx, sy = bottom+last, -s, -ch
	case 8: // needs a 90° counter-clockwise turn
		base, sx, sy = last, s, -ch
	default:
		base, sx, sy = 0, ch, s
	}
	for y := range dst.h {
		row := dst.pix[y*dst.stride : y*dst.stride+dst.w*ch]
		si := base + y*sy
		if ch == 1 {
			for x := range row {
				row[x] = src.pix[si]
				si += sx
			}
			continue
		}
		for x := 0; x < len(row); x += ch {
			copy(row[x:x+ch], src.pix[si:si+ch])
			si += sx
		}
	}
}
