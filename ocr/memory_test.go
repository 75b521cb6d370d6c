package ocr

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"runtime"
	"strings"
	"testing"
)

// pngIHDR is a PNG signature and header chunk alone: enough for the checks,
// which read nothing else. depth and ctype are the PNG bit depth and colour
// type (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA).
func pngIHDR(w, h uint32, depth, ctype, interlace byte) []byte {
	var ihdr bytes.Buffer
	ihdr.WriteString("IHDR")
	binary.Write(&ihdr, binary.BigEndian, w)
	binary.Write(&ihdr, binary.BigEndian, h)
	ihdr.Write([]byte{depth, ctype, 0, 0, interlace})
	var b bytes.Buffer
	b.Write(pngSignature)
	binary.Write(&b, binary.BigEndian, uint32(ihdr.Len()-4))
	b.Write(ihdr.Bytes())
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(ihdr.Bytes()))
	if ctype == 3 { // a palette of one colour and its transparency: DecodeConfig reads them
		for _, chunk := range []string{"PLTE\x00\x00\x00", "tRNS\x00"} {
			binary.Write(&b, binary.BigEndian, uint32(len(chunk)-4))
			b.WriteString(chunk)
			binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE([]byte(chunk)))
		}
	}
	return b.Bytes()
}

// pngBlank is a whole, valid w x h 16-bit RGB PNG, all black: a few
// hundred KB that decode to 8 bytes a pixel. Rows are compressed one by one.
func pngBlank(t *testing.T, w, h uint32) []byte {
	var idat bytes.Buffer
	idat.WriteString("IDAT")
	z, err := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	row := make([]byte, 1+6*w) // filter byte, then R, G, B of 16 bits
	for y := uint32(0); y < h; y++ {
		z.Write(row)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	b := bytes.NewBuffer(pngIHDR(w, h, 16, 2, 0))
	for _, chunk := range [][]byte{idat.Bytes(), []byte("IEND")} {
		binary.Write(b, binary.BigEndian, uint32(len(chunk)-4))
		b.Write(chunk)
		binary.Write(b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	}
	return b.Bytes()
}

// The report's image, whole: Read refuses it without decoding it.
func TestReadRefusesDeepImage(t *testing.T) {
	if _, err := png.Decode(bytes.NewReader(pngBlank(t, 8, 8))); err != nil {
		t.Fatalf("the test image is not a valid PNG: %v", err)
	}
	data := pngBlank(t, 6400, 6250)
	if len(data) > 1<<20 {
		t.Fatalf("the test image is %d bytes, want a small file", len(data))
	}
	r := offline(Options{})
	var err error
	grown := allocated(func() { _, err = r.Read(context.Background(), data) })
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "16 bits per channel") {
		t.Fatalf("Read = %v, want the decoded size refused", err)
	}
	if grown > uint64(r.opts.MaxDecodedBytes)/256 {
		t.Errorf("refusing it allocated %d bytes, over 1/256 of the limit", grown)
	}
	t.Logf("a %d-byte 16-bit PNG of 6400x6250 refused after allocating %d bytes", len(data), grown)
}

// allocated is how many bytes fn allocates.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// The header decides what decoding costs, whatever the bit depth: an image
// within the pixel limit is refused when its decoded size is over the
// limit, with what to do, and without decoding anything.
func TestDecodedSizeLimit(t *testing.T) {
	r := offline(Options{})
	progressive := jpegHeader(6000, 6000)
	progressive[21] = 0xc2 // SOF0 -> SOF2
	for _, tc := range []struct {
		name string
		data []byte
		says []string // nil when it passes
	}{
		// The 418 KB PNG of the report: 40 megapixels of 16-bit RGB, 320 MB decoded.
		// (The sizes are the pixels' bytes, 305.2 MB here, and the decoders' buffers.)
		{"16-bit RGB 6400x6250", pngIHDR(6400, 6250, 16, 2, 0), []string{"6400x6250 pixels with 16 bits per channel take 305.", " MB to decode, over the limit of 256.0 MB; crop the screenshot or save it as an 8-bit PNG or a JPEG"}},
		{"16-bit RGBA 6000x6000", pngIHDR(6000, 6000, 16, 6, 0), []string{"with 16 bits per channel take 27"}},
		{"16-bit grey 6400x6250", pngIHDR(6400, 6250, 16, 0, 0), []string{"with 16 bits per channel take 305."}}, // a tRNS chunk makes it NRGBA64
		{"8-bit RGBA interlaced 6400x6250", pngIHDR(6400, 6250, 8, 6, 1), []string{"pixels take 305.", "; crop the screenshot or save it as an 8-bit PNG"}},
		{"progressive JPEG 6000x6000", progressive, []string{"take 515."}}, // 103 MB of pixels, 412 MB of coefficients
		{"8-bit RGBA 6400x6250", pngIHDR(6400, 6250, 8, 6, 0), nil},
		{"8-bit palette 6400x6250", pngIHDR(6400, 6250, 8, 3, 0), nil},
		{"16-bit RGB 4000x4000", pngIHDR(4000, 4000, 16, 2, 0), nil},
		{"baseline JPEG 6000x6000", jpegHeader(6000, 6000), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			grown := allocated(func() { err = r.Check(tc.data) })
			// Refused or not, the check reads the header only: a small
			// fraction of the decoded-size limit.
			if grown > uint64(r.opts.MaxDecodedBytes)/256 {
				t.Errorf("the check allocated %d bytes, over 1/256 of the limit", grown)
			}
			if tc.says == nil {
				if err != nil {
					t.Fatalf("Check = %v, want it accepted", err)
				}
				return
			}
			var te *TooLargeError
			if !errors.As(err, &te) || te.MaxDecoded != DefaultMaxDecodedBytes {
				t.Fatalf("Check = %v, want a *TooLargeError for the decoded size", err)
			}
			for _, want := range tc.says {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
	// The limit is an option.
	if err := offline(Options{MaxDecodedBytes: 1 << 20}).Check(pngIHDR(1000, 1000, 8, 6, 0)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("4 MB decoded with a 1 MB limit: %v", err)
	}
}

// The estimate bounds what decoding really allocates, and is not far above it.
func TestDecodedSizeBoundsDecoding(t *testing.T) {
	const w, h = 600, 400
	rect := image.Rect(0, 0, w, h)
	pal := image.NewPaletted(rect, color.Palette{color.White, color.Black})
	for _, tc := range []struct {
		name string
		img  image.Image
		kind Kind
	}{
		{"png RGBA64", image.NewRGBA64(rect), PNG},
		{"png NRGBA64", image.NewNRGBA64(rect), PNG},
		{"png Gray16", image.NewGray16(rect), PNG},
		{"png NRGBA", image.NewNRGBA(rect), PNG},
		{"png Gray", image.NewGray(rect), PNG},
		{"png Paletted", pal, PNG},
		{"jpeg YCbCr", image.NewRGBA(rect), JPEG},
		{"jpeg Gray", image.NewGray(rect), JPEG},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Noise, so the encoders keep every channel and bit depth.
			if m, ok := tc.img.(interface{ Set(x, y int, c color.Color) }); ok {
				for i := 0; i < w*h; i++ {
					v := uint16(i * 40503)
					m.Set(i%w, i/w, color.RGBA64{v, v ^ 0x5555, v ^ 0xaaaa, 0xffff - uint16(i%7)})
				}
			}
			var buf bytes.Buffer
			var err error
			if tc.kind == PNG {
				err = png.Encode(&buf, tc.img)
			} else {
				err = jpeg.Encode(&buf, tc.img, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			data := buf.Bytes()
			cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			need, _ := decodedSize(tc.kind, cfg, data)
			grown := allocated(func() {
				if _, err = decode(tc.kind, data); err != nil {
					t.Fatal(err)
				}
			})
			if grown > uint64(need) {
				t.Errorf("decoding allocated %d bytes, over the estimate %d", grown, need)
			}
			if uint64(need) > 5*grown {
				t.Errorf("estimate %d is over 5 times what decoding allocated (%d)", need, grown)
			}
			t.Logf("decoding allocated %d bytes, %.2f of the estimate", grown, float64(grown)/float64(need))
		})
	}
}

// Upscaling keeps only a few rows of intermediates: it allocates little
// more than its output, and gives what the two full passes give.
func TestScaleMemory(t *testing.T) {
	src := &gray{pix: make([]byte, 300*200), w: 300, h: 200}
	for i := range src.pix {
		src.pix[i] = byte(i*7 + i/300*13)
	}
	for _, f := range []Filter{CatmullRom, Bilinear} {
		var out *gray
		grown := allocated(func() { out = src.scale(3, f) })
		if out.w != 900 || out.h != 600 {
			t.Fatalf("%v: %s, want 900x600", f, out)
		}
		if limit := uint64(len(out.pix)) * 5 / 4; grown > limit {
			t.Errorf("%v: scaling allocated %d bytes for a %d-byte result", f, grown, len(out.pix))
		}
		var want []byte
		full := allocated(func() { want = scaleReference(src, 900, 600, f) })
		if !bytes.Equal(out.pix, want) {
			t.Errorf("%v: the result differs from the reference", f)
		}
		t.Logf("%v: %d bytes allocated, %.2f of the full intermediate's %d", f, grown, float64(grown)/float64(full), full)
	}
	// prepare bounds the upscaled image by MaxWorkPixels.
	p := DefaultPipeline
	p.MaxWorkPixels = 100_000
	got := prepare(&gray{pix: make([]byte, 300*200), w: 300, h: 200}, p)
	if n := got.w * got.h; n > 100_000+got.w+got.h || got.w <= 300 {
		t.Errorf("prepared %s (%d pixels) for a limit of 100000", got.gray, n)
	}
}

// scaleReference is the separable resampling with a full intermediate image.
func scaleReference(g *gray, dw, dh int, f Filter) []byte {
	tx, ty := makeTaps(f, g.w, dw), makeTaps(f, g.h, dh)
	mid := make([]int32, dw*g.h)
	for y := 0; y < g.h; y++ {
		for x := 0; x < dw; x++ {
			var s int32
			for k := 0; k < tx.n; k++ {
				s += tx.w[x*tx.n+k] * int32(g.pix[y*g.w+int(tx.idx[x*tx.n+k])])
			}
			mid[y*dw+x] = s >> 8
		}
	}
	out := make([]byte, dw*dh)
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			var s int64
			for k := 0; k < ty.n; k++ {
				s += int64(ty.w[y*ty.n+k]) * int64(mid[int(ty.idx[y*ty.n+k])*dw+x])
			}
			out[y*dw+x] = byte(max(0, min(255, (s+1<<23)>>24)))
		}
	}
	return out
}
