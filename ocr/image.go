package ocr

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
)

// Kind is an image format this package reads.
type Kind string

// The formats read: Slack screenshots are PNG, photos of screens JPEG.
const (
	PNG  Kind = "png"
	JPEG Kind = "jpeg"
)

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// Sniff returns the image format by its signature, or "" when data is
// neither PNG nor JPEG.
func Sniff(data []byte) Kind {
	switch {
	case bytes.HasPrefix(data, pngSignature):
		return PNG
	case bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}):
		return JPEG
	}
	return ""
}

// Describe names what bytes that are no PNG or JPEG look like ("a WebP
// image", "an HTML page"), for FormatError and for files shared.
func Describe(data []byte) string {
	if len(data) == 0 {
		return "empty"
	}
	head := data[:min(len(data), 512)]
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	trimmed := bytes.ToLower(bytes.TrimLeft(head, " \t\r\n"))
	switch {
	case bytes.HasPrefix(trimmed, []byte("<!doctype html")), bytes.HasPrefix(trimmed, []byte("<html")),
		bytes.HasPrefix(trimmed, []byte("<head")), bytes.HasPrefix(trimmed, []byte("<body")),
		bytes.HasPrefix(trimmed, []byte("<!--")) && bytes.Contains(trimmed, []byte("<html")):
		return "an HTML page"
	case bytes.HasPrefix(trimmed, []byte("{")) || bytes.HasPrefix(trimmed, []byte("[")):
		return "JSON or text"
	case bytes.HasPrefix(head, []byte("GIF8")):
		return "a GIF image"
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return "a WebP image"
	case bytes.HasPrefix(head, []byte("BM")):
		return "a BMP image"
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return "a TIFF image"
	case bytes.HasPrefix(head, []byte("%PDF")):
		return "a PDF document"
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		return "an HEIC/AVIF image or a video"
	}
	return "neither PNG nor JPEG"
}

// check refuses data that is not a PNG or JPEG within the limits, reading
// only the image header: nothing large is allocated for refused input.
func (r *Reader) check(data []byte) (Kind, image.Config, error) {
	if int64(len(data)) > r.opts.MaxBytes {
		return "", image.Config{}, &TooLargeError{Bytes: int64(len(data)), MaxBytes: r.opts.MaxBytes}
	}
	kind := Sniff(data)
	if kind == "" {
		return "", image.Config{}, &FormatError{Got: Describe(data)}
	}
	var cfg image.Config
	var err error
	if kind == PNG {
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	} else {
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return kind, cfg, &FormatError{Kind: kind, Got: "a damaged " + string(kind) + " file", Err: err}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return kind, cfg, &FormatError{Kind: kind, Got: "an empty " + string(kind) + " image"}
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > r.opts.MaxPixels {
		return kind, cfg, &TooLargeError{Width: cfg.Width, Height: cfg.Height, MaxPixels: r.opts.MaxPixels}
	}
	if need, deep := decodedSize(kind, cfg, data); need > r.opts.MaxDecodedBytes {
		return kind, cfg, &TooLargeError{Width: cfg.Width, Height: cfg.Height, Decoded: need, MaxDecoded: r.opts.MaxDecodedBytes, Deep: deep}
	}
	return kind, cfg, nil
}

// decodedSize is, from the header, an upper bound of what decoding the
// image allocates, and whether it has 16 bits per channel. The pixel
// limit alone does not bound memory: a 418 KB 16-bit PNG of 40 megapixels
// decodes to 320 MB.
func decodedSize(kind Kind, cfg image.Config, data []byte) (need int64, deep bool) {
	px := int64(cfg.Width) * int64(cfg.Height)
	var perPixel int64
	switch m := cfg.ColorModel; m {
	case color.GrayModel, color.AlphaModel:
		perPixel = 1
	case color.Gray16Model, color.Alpha16Model:
		perPixel, deep = 2, true
	case color.YCbCrModel: // JPEG; 4:4:4 is the largest subsampling
		perPixel = 3
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		perPixel = 4
	case color.RGBA64Model, color.NRGBA64Model:
		perPixel, deep = 8, true
	default:
		perPixel = 8
		if _, ok := m.(color.Palette); ok {
			perPixel = 1
		}
	}
	switch kind {
	case PNG:
		// DecodeConfig stops at the header: a tRNS chunk after it turns
		// grey into grey with alpha, decoded as NRGBA or NRGBA64.
		if perPixel <= 2 && !isPalette(cfg.ColorModel) {
			perPixel *= 4
		}
		need = px * perPixel
		if len(data) > 28 && data[28] == 1 { // IHDR's interlace method: Adam7 decodes each pass apart
			need *= 2
		}
		need += 2 * int64(cfg.Width) * perPixel // the current and the previous row
	case JPEG:
		if cfg.ColorModel == color.CMYKModel { // decoded as YCbCr plus K, then converted
			perPixel = 8
		}
		need = px * perPixel
		if jpegProgressive(data) { // keeps every coefficient: 4 bytes a pixel per component
			need += px * 4 * min(perPixel, 4)
		}
	}
	return need + decoderBuffers, deep
}

// decoderBuffers bounds the decoders' own buffers (zlib's window, Huffman tables).
const decoderBuffers = 256 << 10

func isPalette(m color.Model) bool {
	_, ok := m.(color.Palette)
	return ok
}

// jpegProgressive reports whether the JPEG's frame header (SOFn) is a
// progressive one, walking the marker segments that precede it.
func jpegProgressive(data []byte) bool {
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			return false
		}
		switch m := data[i+1]; {
		case m == 0xff: // fill byte
			i++
			continue
		case m == 0xc2 || m == 0xc6 || m == 0xca || m == 0xce:
			return true
		case m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc, m == 0xda, m == 0xd9:
			return false // another frame, or the scan data or the end without a frame
		case m >= 0xd0 && m <= 0xd8 || m == 0x01: // markers without a length
			i += 2
			continue
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
	}
	return false
}

func decode(kind Kind, data []byte) (image.Image, error) {
	var img image.Image
	var err error
	if kind == PNG {
		img, err = png.Decode(bytes.NewReader(data))
	} else {
		img, err = jpeg.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, &FormatError{Kind: kind, Got: "a damaged " + string(kind) + " file", Err: err}
	}
	return img, nil
}

// gray is an 8-bit grey image, row by row without padding.
type gray struct {
	pix  []byte
	w, h int
}

// luma weights as image/color's GrayModel, in 16.16 fixed point.
const (
	lumR, lumG, lumB = 19595, 38470, 7471
)

// toGray converts img to grey, composing transparent pixels over white
// (a screenshot with a transparent border must not read as black).
func toGray(img image.Image) *gray {
	b := img.Bounds()
	g := &gray{pix: make([]byte, b.Dx()*b.Dy()), w: b.Dx(), h: b.Dy()}
	switch m := img.(type) {
	case *image.NRGBA:
		for y := 0; y < g.h; y++ {
			row := m.Pix[(y+b.Min.Y-m.Rect.Min.Y)*m.Stride+(b.Min.X-m.Rect.Min.X)*4:]
			out := g.pix[y*g.w : (y+1)*g.w]
			for x := range out {
				p := row[x*4 : x*4+4 : x*4+4]
				l := (lumR*uint32(p[0]) + lumG*uint32(p[1]) + lumB*uint32(p[2]) + 1<<15) >> 16
				a := uint32(p[3])
				out[x] = byte((l*a + 255*(255-a) + 127) / 255)
			}
		}
	case *image.RGBA: // premultiplied: over white is c + (255-a)
		for y := 0; y < g.h; y++ {
			row := m.Pix[(y+b.Min.Y-m.Rect.Min.Y)*m.Stride+(b.Min.X-m.Rect.Min.X)*4:]
			out := g.pix[y*g.w : (y+1)*g.w]
			for x := range out {
				p := row[x*4 : x*4+4 : x*4+4]
				l := (lumR*uint32(p[0]) + lumG*uint32(p[1]) + lumB*uint32(p[2]) + 1<<15) >> 16
				out[x] = byte(min(255, l+255-uint32(p[3])))
			}
		}
	case *image.Gray:
		for y := 0; y < g.h; y++ {
			copy(g.pix[y*g.w:(y+1)*g.w], m.Pix[(y+b.Min.Y-m.Rect.Min.Y)*m.Stride+(b.Min.X-m.Rect.Min.X):])
		}
	case *image.YCbCr: // JPEG: the Y plane is the luma
		for y := 0; y < g.h; y++ {
			copy(g.pix[y*g.w:(y+1)*g.w], m.Y[(y+b.Min.Y-m.Rect.Min.Y)*m.YStride+(b.Min.X-m.Rect.Min.X):])
		}
	case image.RGBA64Image: // 16-bit PNGs and the rest: RGBA64At allocates nothing, At a color per pixel
		for y := 0; y < g.h; y++ {
			for x := 0; x < g.w; x++ {
				c := m.RGBA64At(b.Min.X+x, b.Min.Y+y) // premultiplied, 16 bits
				l := (lumR*uint32(c.R>>8) + lumG*uint32(c.G>>8) + lumB*uint32(c.B>>8) + 1<<15) >> 16
				g.pix[y*g.w+x] = byte(min(255, l+255-uint32(c.A>>8)))
			}
		}
	default:
		for y := 0; y < g.h; y++ {
			for x := 0; x < g.w; x++ {
				r, gg, bb, a := img.At(b.Min.X+x, b.Min.Y+y).RGBA() // premultiplied, 16 bits
				l := (lumR*(r>>8) + lumG*(gg>>8) + lumB*(bb>>8) + 1<<15) >> 16
				g.pix[y*g.w+x] = byte(min(255, l+255-a>>8))
			}
		}
	}
	return g
}

// stretch spreads the grey levels between the 0.5th and the 99.5th
// percentile over the full range: faint grey text on a tinted banner
// gets the contrast of black on white.
func (g *gray) stretch() {
	var hist [256]int
	for _, p := range g.pix {
		hist[p]++
	}
	cut := len(g.pix) / 200
	lo, hi := 0, 255
	for n := 0; lo < 255; lo++ {
		if n += hist[lo]; n > cut {
			break
		}
	}
	for n := 0; hi > 0; hi-- {
		if n += hist[hi]; n > cut {
			break
		}
	}
	if hi-lo < 16 { // a blank or nearly uniform image: leave it
		return
	}
	var lut [256]byte
	for i := range lut {
		v := (i - lo) * 255 / (hi - lo)
		lut[i] = byte(max(0, min(255, v)))
	}
	for i, p := range g.pix {
		g.pix[i] = lut[p]
	}
}

// Filter is a resampling filter for upscaling.
type Filter int

// Filters: Bilinear is fast and soft; CatmullRom (bicubic) keeps the
// strokes of small text sharper.
const (
	CatmullRom Filter = iota
	Bilinear
)

func (f Filter) String() string {
	if f == Bilinear {
		return "bilinear"
	}
	return "bicubic"
}

func (f Filter) support() float64 {
	if f == Bilinear {
		return 1
	}
	return 2
}

func (f Filter) at(x float64) float64 {
	x = math.Abs(x)
	if f == Bilinear {
		return max(0, 1-x)
	}
	switch { // Catmull-Rom: the cubic with a = -0.5
	case x < 1:
		return (1.5*x-2.5)*x*x + 1
	case x < 2:
		return ((-0.5*x+2.5)*x-4)*x + 2
	}
	return 0
}

// taps are the source indices and weights (16.16 fixed point) of each output position.
type taps struct {
	n   int // taps per output position
	idx []int32
	w   []int32
}

func makeTaps(f Filter, src, dst int) taps {
	scale := float64(dst) / float64(src)
	n := int(2 * f.support())
	t := taps{n: n, idx: make([]int32, dst*n), w: make([]int32, dst*n)}
	for d := 0; d < dst; d++ {
		center := (float64(d)+0.5)/scale - 0.5
		first := int(math.Floor(center)) - n/2 + 1
		var ws [4]float64
		sum := 0.0
		for k := 0; k < n; k++ {
			ws[k] = f.at(float64(first+k) - center)
			sum += ws[k]
		}
		acc := int32(0)
		for k := 0; k < n; k++ {
			t.idx[d*n+k] = int32(max(0, min(src-1, first+k)))
			w := int32(math.Round(ws[k] / sum * 65536))
			if k == n-1 {
				w = 65536 - acc // weights sum to exactly one
			}
			t.w[d*n+k] = w
			acc += w
		}
	}
	return t
}

// scale resizes g by factor with the filter, separably: rows, then
// columns. The rows scaled horizontally are kept only while the columns
// need them (a ring of as many rows as the filter has taps), so the work
// memory is the output image, not four bytes per pixel more.
func (g *gray) scale(factor float64, f Filter) *gray {
	dw, dh := int(math.Round(float64(g.w)*factor)), int(math.Round(float64(g.h)*factor))
	if dw < 1 || dh < 1 || (dw == g.w && dh == g.h) {
		return g
	}
	tx, ty := makeTaps(f, g.w, dw), makeTaps(f, g.h, dh)
	ring := make([][]int32, ty.n)
	held := make([]int, ty.n) // the source row in each ring slot
	for i := range ring {
		ring[i], held[i] = make([]int32, dw), -1
	}
	// row scales source row y horizontally, with 8 fractional bits (bicubic overshoots 0..255).
	row := func(y int) []int32 {
		slot := y % ty.n
		if held[slot] == y {
			return ring[slot]
		}
		src, out := g.pix[y*g.w:(y+1)*g.w], ring[slot]
		for x := range out {
			var s int32
			for k := 0; k < tx.n; k++ {
				s += tx.w[x*tx.n+k] * int32(src[tx.idx[x*tx.n+k]])
			}
			out[x] = s >> 8
		}
		held[slot] = y
		return out
	}
	dst := &gray{pix: make([]byte, dw*dh), w: dw, h: dh}
	rows := make([][]int32, ty.n)
	for y := 0; y < dh; y++ {
		// The taps of one output row are distinct consecutive source rows
		// (repeated at the edges), so they never evict each other.
		for k := range rows {
			rows[k] = row(int(ty.idx[y*ty.n+k]))
		}
		out := dst.pix[y*dw : (y+1)*dw]
		for x := range out {
			var s int64
			for k := 0; k < ty.n; k++ {
				s += int64(ty.w[y*ty.n+k]) * int64(rows[k][x])
			}
			v := (s + 1<<23) >> 24 // 16 + 8 fractional bits
			out[x] = byte(max(0, min(255, v)))
		}
	}
	return dst
}

// pgm is g as a binary PGM (P5), which Tesseract's image library reads
// from standard input without any compression work on either side.
func (g *gray) pgm() io.Reader {
	header := "P5\n" + strconv.Itoa(g.w) + " " + strconv.Itoa(g.h) + "\n255\n"
	return io.MultiReader(strings.NewReader(header), bytes.NewReader(g.pix))
}

func (g *gray) String() string { return fmt.Sprintf("%dx%d grey", g.w, g.h) }
