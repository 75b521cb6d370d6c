// Package ocr reads the text of screenshots (PNG or JPEG) with Tesseract,
// so that a Service Center screenshot pasted in Slack can be diagnosed like
// pasted text.
//
// It runs the tesseract command-line program rather than linking
// libtesseract through cgo: the upgradebot binary stays static (CGO_ENABLED=0),
// builds and passes go vet on machines without the Tesseract and Leptonica C
// headers, and a crash or runaway page in Tesseract kills one child process,
// never the bot. Tesseract is an optional run-time dependency: New reports
// clearly why OCR is off when the program or its English data is missing,
// and the bot keeps working on pasted text.
//
// Each read checks the input before decoding it (the bytes must be a PNG or a
// JPEG by their signature, within a byte and a pixel limit, read from the
// header), converts the image to grey, stretches its contrast, upscales it
// (small UI text reads far better at three times its size), and pipes it as
// a PGM to
//
//	tesseract stdin stdout -l eng --psm 11 --dpi 288 tsv
//
// with OMP_THREAD_LIMIT=1, under a time limit (the whole process group is
// killed when it runs out) and a semaphore that bounds how many images are
// read at once. The text is rebuilt from the word boxes so that the lines of
// a banner or a table cell stay together (layout.go). README.md in this
// folder records the measurements behind this default pipeline.
package ocr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Defaults for Options.
const (
	DefaultBinary      = "tesseract"
	DefaultTimeout     = 20 * time.Second
	DefaultConcurrency = 2
	DefaultMaxBytes    = 20 << 20   // 20 MB: far above any screenshot, below what decoding may cost
	DefaultMaxPixels   = 40_000_000 // 40 megapixels: an 8K screen is 33
	// DefaultMaxDecodedBytes bounds the memory decoding one image takes:
	// 40 megapixels of 8-bit RGBA fit (160 MB), the same in 16-bit RGBA
	// (320 MB) do not.
	DefaultMaxDecodedBytes = 256 << 20
	DefaultLanguage        = "eng"
)

// Pipeline says how an image is prepared and read.
type Pipeline struct {
	// Scale is the upscaling factor before OCR (values below 1 mean 1).
	Scale float64
	// Filter is the resampling filter of the upscaling.
	Filter Filter
	// MaxWorkPixels caps the upscaled image: a large screenshot is
	// upscaled less (its text is large enough), never downscaled.
	MaxWorkPixels int64
	// Stretch spreads the grey levels over the full range first.
	Stretch bool
	// Layout rebuilds the reading order from Tesseract's word boxes
	// (layout.go) instead of taking its plain text: the lines of a table
	// cell or a banner stay together.
	Layout bool
	// PSM is the Tesseract page-segmentation mode (3 automatic, 4 one
	// column, 6 one block, 11 sparse text, 12 sparse text with OSD).
	PSM int
}

// DefaultPipeline is the pipeline measured best on real Service Center and
// Configuration Tool screenshots (README.md): grey with a contrast
// stretch, bicubic 3x upscaling, sparse text (psm 11) laid out again from
// the word boxes. One pass: a second one (psm 6 or 3) found nothing more,
// and concatenating two passes reports every message twice.
var DefaultPipeline = Pipeline{Scale: 3, Filter: CatmullRom, MaxWorkPixels: 24_000_000, Stretch: true, PSM: 11, Layout: true}

// Options configure a Reader. Zero values take the defaults above.
type Options struct {
	// Binary is the tesseract program: a name looked up on PATH, or a path.
	Binary string
	// Timeout bounds one Read: waiting for a slot, preparing and OCR.
	Timeout time.Duration
	// Concurrency is how many images are read at once (each runs one
	// single-threaded tesseract process at a time); more wait their turn.
	Concurrency int
	// MaxBytes and MaxPixels refuse larger input before it is decoded.
	MaxBytes  int64
	MaxPixels int64
	// MaxDecodedBytes refuses, from the header, an image whose decoding
	// would take more memory: the bytes a pixel takes follow the bit depth
	// and colour model (a 16-bit RGBA PNG takes 8, an 8-bit one 4).
	MaxDecodedBytes int64
	// Language is the Tesseract language ("eng").
	Language string
	// Pipeline is the preparation and the page-segmentation mode;
	// DefaultPipeline when PSM is 0.
	Pipeline Pipeline
}

// Reader reads text from images. It is safe for concurrent use.
type Reader struct {
	opts    Options
	path    string
	version string
	sem     chan struct{}
}

// Errors, to test with errors.Is.
var (
	// ErrUnavailable: the tesseract program or its language data is missing.
	ErrUnavailable = errors.New("OCR is not available")
	// ErrNotImage: the data is not a PNG or JPEG image.
	ErrNotImage = errors.New("not a PNG or JPEG image")
	// ErrTooLarge: the image is over the byte or pixel limit.
	ErrTooLarge = errors.New("image too large")
	// ErrTimeout: the time limit ran out (also errors.Is context.DeadlineExceeded).
	ErrTimeout = errors.New("OCR timed out")
)

// UnavailableError says why OCR is off.
type UnavailableError struct {
	Binary string
	Reason string // e.g. "not found on PATH"
	Err    error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("screenshots cannot be read: Tesseract OCR (%s) %s; install it (Debian/Ubuntu: apt-get install tesseract-ocr tesseract-ocr-eng) or paste the text", e.Binary, e.Reason)
}

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }
func (e *UnavailableError) Unwrap() error        { return e.Err }

// FormatError refuses data that is not a readable PNG or JPEG, e.g. the
// HTML login page Slack serves with status 200 for a file URL without the
// right token.
type FormatError struct {
	Kind Kind   // the format the signature claimed, "" when none
	Got  string // what the data looks like: "an HTML page", "a GIF image", …
	Err  error  // the decoder's error, if any
}

func (e *FormatError) Error() string {
	if e.Kind != "" {
		if e.Err != nil {
			return fmt.Sprintf("not a readable PNG or JPEG image: %s (%v)", e.Got, e.Err)
		}
		return fmt.Sprintf("not a readable PNG or JPEG image: %s", e.Got)
	}
	return fmt.Sprintf("not a PNG or JPEG image: the data is %s", e.Got)
}

// Is makes errors.Is(err, ErrNotImage) true.
func (e *FormatError) Is(target error) bool { return target == ErrNotImage }
func (e *FormatError) Unwrap() error        { return e.Err }

// TooLargeError refuses an image over the byte, the pixel or the decoded-size limit.
type TooLargeError struct {
	Width, Height int   // set for the pixel and the decoded-size limits
	MaxPixels     int64 //
	Bytes         int64 // set for the byte limit
	MaxBytes      int64
	// Decoded is what decoding would take, set for the decoded-size limit;
	// Deep says the image has 16 bits per channel.
	Decoded, MaxDecoded int64
	Deep                bool
}

func (e *TooLargeError) Error() string {
	if e.MaxBytes > 0 {
		return fmt.Sprintf("image too large: %s is over the limit of %s", sizeText(e.Bytes), sizeText(e.MaxBytes))
	}
	if e.MaxDecoded > 0 {
		depth, advice := "", "crop the screenshot or save it as an 8-bit PNG"
		if e.Deep {
			depth, advice = " with 16 bits per channel", "crop the screenshot or save it as an 8-bit PNG or a JPEG"
		}
		return fmt.Sprintf("image too large: %dx%d pixels%s take %s to decode, over the limit of %s; %s",
			e.Width, e.Height, depth, sizeText(e.Decoded), sizeText(e.MaxDecoded), advice)
	}
	return fmt.Sprintf("image too large: %dx%d pixels (%.1f megapixels) is over the limit of %.0f megapixels",
		e.Width, e.Height, float64(e.Width)*float64(e.Height)/1e6, float64(e.MaxPixels)/1e6)
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

func sizeText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// TimeoutError: the time limit ran out while waiting or reading.
type TimeoutError struct {
	Limit time.Duration
	While string // "waiting for a free OCR slot", "running tesseract"
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("OCR timed out after %s while %s", e.Limit, e.While)
}

// Is makes errors.Is(err, ErrTimeout) and errors.Is(err, context.DeadlineExceeded) true.
func (e *TimeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// ExecError: tesseract ran and failed.
type ExecError struct {
	Err    error
	Stderr string
}

func (e *ExecError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:] // the last line says what went wrong
	}
	if msg == "" {
		return fmt.Sprintf("tesseract failed: %v", e.Err)
	}
	return fmt.Sprintf("tesseract failed: %v: %s", e.Err, msg)
}
func (e *ExecError) Unwrap() error { return e.Err }

func (o Options) withDefaults() Options {
	if o.Binary == "" {
		o.Binary = DefaultBinary
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxDecodedBytes <= 0 {
		o.MaxDecodedBytes = DefaultMaxDecodedBytes
	}
	if o.Language == "" {
		o.Language = DefaultLanguage
	}
	if o.Pipeline.PSM == 0 {
		o.Pipeline = DefaultPipeline
	}
	if o.Pipeline.MaxWorkPixels <= 0 {
		o.Pipeline.MaxWorkPixels = DefaultPipeline.MaxWorkPixels
	}
	return o
}

// Available reports whether the tesseract program is on PATH: nil, or an
// *UnavailableError saying why not. New checks more (the language data).
func Available() error {
	_, err := lookPath(DefaultBinary)
	return err
}

func lookPath(binary string) (string, error) {
	path, err := exec.LookPath(binary)
	if err != nil {
		return "", &UnavailableError{Binary: binary, Reason: "was not found on PATH", Err: err}
	}
	return path, nil
}

// New finds the tesseract program and checks that it runs and has the
// language data. On failure the error is an *UnavailableError
// (errors.Is(err, ErrUnavailable)) whose message says why OCR is off.
func New(opts Options) (*Reader, error) {
	opts = opts.withDefaults()
	path, err := lookPath(opts.Binary)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := command(ctx, path, "--list-langs").Output()
	if err != nil {
		return nil, &UnavailableError{Binary: path, Reason: "does not run (" + err.Error() + ")", Err: err}
	}
	if !hasLanguage(string(out), opts.Language) {
		return nil, &UnavailableError{Binary: path, Reason: fmt.Sprintf("has no %q language data (tessdata)", opts.Language)}
	}
	r := &Reader{opts: opts, path: path, sem: make(chan struct{}, opts.Concurrency)}
	if v, err := command(ctx, path, "--version").Output(); err == nil {
		r.version, _, _ = strings.Cut(strings.TrimSpace(string(v)), "\n")
	}
	return r, nil
}

func hasLanguage(listing, lang string) bool {
	for _, want := range strings.Split(lang, "+") {
		found := false
		for line := range strings.Lines(listing) {
			if strings.TrimSpace(line) == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Path is the tesseract program in use.
func (r *Reader) Path() string { return r.path }

// Version is the first line of `tesseract --version`, e.g. "tesseract 5.3.0".
func (r *Reader) Version() string { return r.version }

// Options returns the options in effect, defaults filled in.
func (r *Reader) Options() Options { return r.opts }

// ReadFile reads the text of the image file at path.
func (r *Reader) ReadFile(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > r.opts.MaxBytes {
		return "", &TooLargeError{Bytes: fi.Size(), MaxBytes: r.opts.MaxBytes}
	}
	data, err := io.ReadAll(io.LimitReader(f, r.opts.MaxBytes+1))
	if err != nil {
		return "", err
	}
	return r.Read(ctx, data)
}

// Check refuses data that Read would refuse before decoding it: not a PNG
// or JPEG (*FormatError), over the byte, pixel or decoded-size limit
// (*TooLargeError).
func (r *Reader) Check(data []byte) error {
	_, _, err := r.check(data)
	return err
}

// Read returns the text of a PNG or JPEG image.
func (r *Reader) Read(ctx context.Context, data []byte) (string, error) {
	kind, _, err := r.check(data)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return "", r.ctxErr(ctx, "waiting for a free OCR slot")
	}
	defer func() { <-r.sem }()

	img, err := decode(kind, data)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", r.ctxErr(ctx, "decoding the image")
	}
	prepared := prepare(toGray(img), r.opts.Pipeline)
	dpi := 96 * prepared.w / max(1, prepared.srcW)
	return r.run(ctx, prepared.gray, r.opts.Pipeline.PSM, dpi, r.opts.Pipeline.Layout)
}

// prepared is the grey image handed to tesseract, and the source width (for the resolution).
type prepared struct {
	*gray
	srcW int
}

func prepare(g *gray, p Pipeline) prepared {
	out := prepared{gray: g, srcW: g.w}
	if p.Stretch {
		g.stretch()
	}
	factor := max(1, p.Scale)
	if limit := float64(p.MaxWorkPixels); limit > 0 && float64(g.w)*float64(g.h)*factor*factor > limit {
		factor = max(1, math.Sqrt(limit/(float64(g.w)*float64(g.h))))
	}
	if factor > 1 {
		out.gray = g.scale(factor, p.Filter)
	}
	return out
}

func (r *Reader) ctxErr(ctx context.Context, while string) error {
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return &TimeoutError{Limit: r.opts.Timeout, While: while}
	}
	return context.Cause(ctx)
}

// maxText bounds what one tesseract run may print: a screenshot holds a few KB of text.
const maxText = 1 << 20

// run pipes the image to one tesseract process and returns its text, laid
// out from the word boxes when layout is set.
func (r *Reader) run(ctx context.Context, img *gray, psm, dpi int, layout bool) (string, error) {
	args := []string{"stdin", "stdout", "-l", r.opts.Language, "--psm", strconv.Itoa(psm), "--dpi", strconv.Itoa(dpi)}
	if layout {
		args = append(args, "tsv")
	}
	cmd := command(ctx, r.path, args...)
	cmd.Stdin = img.pgm()
	stdout := &capped{max: maxText}
	stderr := &capped{max: 8 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return "", r.ctxErr(ctx, "running tesseract")
	}
	if err != nil {
		return "", &ExecError{Err: err, Stderr: stderr.String()}
	}
	if layout {
		return layoutText(parseTSV(stdout.String())), nil
	}
	return tidy(stdout.String()), nil
}

// command prepares a tesseract process: one OpenMP thread (the semaphore,
// not Tesseract, decides how many cores OCR takes), its own process group
// killed whole when ctx ends, and a bounded wait for its output pipes.
func command(ctx context.Context, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	env := os.Environ()
	for i := 0; i < len(env); i++ {
		if strings.HasPrefix(env[i], "OMP_THREAD_LIMIT=") {
			env = append(env[:i], env[i+1:]...)
			i--
		}
	}
	cmd.Env = append(env, "OMP_THREAD_LIMIT=1")
	killGroupOnCancel(cmd)
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// capped is a buffer that keeps the first max bytes and drops the rest.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// tidy removes the page's form feed and trailing blanks, and folds runs of
// blank lines into one.
func tidy(s string) string {
	var b strings.Builder
	blank := 0
	for line := range strings.Lines(s) {
		line = strings.TrimRight(line, " \t\r\n\f")
		line = strings.ReplaceAll(line, "\f", "")
		if line == "" {
			blank++
			continue
		}
		if b.Len() > 0 {
			if blank > 0 {
				b.WriteString("\n\n")
			} else {
				b.WriteByte('\n')
			}
		}
		blank = 0
		b.WriteString(line)
	}
	return b.String()
}
