package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/upgradebot/upgradebot/config"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/ocr"
)

// ocrOptions are the OCR reader's options: the package defaults (20 s per
// image, two images at once, 20 MB and 40 megapixels at most). Tests
// change Binary to play a server without Tesseract.
var ocrOptions = ocr.Options{}

// ocrReader reads text from screenshots with Tesseract, as UPGRADEBOT_OCR
// says: auto (the default) reads them when Tesseract is installed, on
// requires it, off never reads them.
type ocrReader struct {
	r   *ocr.Reader // nil when screenshots are not read
	why string      // why they are not read, for help and the shell
	err error       // UPGRADEBOT_OCR=on without a working Tesseract
}

// newOCR looks for Tesseract once at start-up and logs the outcome once.
// The bot starts without it (auto) and says so in help; with
// UPGRADEBOT_OCR=on its absence is the start-up error that startErr returns.
func newOCR(cfg *config.Config, logger *slog.Logger) *ocrReader {
	if cfg.OCR == config.OCROff {
		logger.Info("screenshots are not read: UPGRADEBOT_OCR is off")
		return &ocrReader{why: "Screenshots are turned off on this server (UPGRADEBOT_OCR=off): paste the error text instead."}
	}
	r, err := ocr.New(ocrOptions)
	if err != nil {
		o := &ocrReader{why: "Screenshots cannot be read on this server (Tesseract OCR is not installed): paste the error text instead."}
		if cfg.OCR == config.OCROn {
			o.err = ocrRequired(err) // reported with the settings problems, not logged too
		} else {
			logger.Warn("screenshots are not read; set UPGRADEBOT_OCR=off to silence this", "reason", err.Error())
		}
		return o
	}
	logger.Info("screenshots are read with Tesseract", "program", r.Path(), "version", r.Version())
	return &ocrReader{r: r}
}

// ocrRequired is the start-up error of UPGRADEBOT_OCR=on without Tesseract,
// reported like the other settings problems.
func ocrRequired(err error) error {
	return &config.ValidationError{Problems: []config.Problem{ocrProblem(err)}}
}

func ocrProblem(err error) config.Problem {
	return config.Problem{Name: "UPGRADEBOT_OCR",
		Message: fmt.Sprintf("is on, but %v. Or unset UPGRADEBOT_OCR (screenshots are then read when Tesseract is found), or set it to off", err)}
}

// withStartProblems adds to err, config.Load's, what would stop the start
// once the settings are read: a malformed UPGRADEBOT_KB_FILE, and
// UPGRADEBOT_OCR=on without Tesseract; so one start reports every problem.
func withStartProblems(err error, environ map[string]string) error {
	var problems []config.Problem
	if ve := (*config.ValidationError)(nil); errors.As(err, &ve) {
		problems = ve.Problems
	} else if err != nil {
		return err
	}
	if path := strings.TrimSpace(environ["UPGRADEBOT_KB_FILE"]); path != "" {
		if data, rerr := os.ReadFile(path); rerr == nil { // not readable: Load says so
			if _, kerr := diagnosis.WithExtra(data, path); kerr != nil {
				problems = append(problems, config.Problem{Name: "UPGRADEBOT_KB_FILE", Message: kerr.Error()})
			}
		}
	}
	if strings.EqualFold(strings.TrimSpace(environ["UPGRADEBOT_OCR"]), config.OCROn) {
		if _, oerr := ocr.New(ocrOptions); oerr != nil {
			problems = append(problems, ocrProblem(oerr))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &config.ValidationError{Problems: problems}
}

// startErr is the start-up error: UPGRADEBOT_OCR=on and Tesseract missing; nil otherwise.
func (o *ocrReader) startErr() error { return o.err }

// note explains in help and the shell why screenshots are not read ("" when they are).
func (o *ocrReader) note() string { return o.why }

// readFileFunc reads a screenshot file for the shell's ":image PATH"; nil
// when screenshots are not read, so the shell says why (note).
func (o *ocrReader) readFileFunc() func(context.Context, string) (string, error) {
	if o.r == nil {
		return nil
	}
	return o.r.ReadFile
}

// readScreenshot returns the text of the image FILE given to diagnose.
func readScreenshot(ctx context.Context, cfg *config.Config, name string, data []byte) (string, error) {
	if cfg.OCR == config.OCROff {
		return "", fmt.Errorf("%s is an image, and screenshots are turned off (UPGRADEBOT_OCR=off): paste the text instead", name)
	}
	if len(data) >= maxInput {
		return "", fmt.Errorf("%s: image too large: diagnose reads images up to %d MB", name, maxInput>>20)
	}
	r, err := ocr.New(ocrOptions)
	if err != nil {
		if cfg.OCR == config.OCROn {
			return "", ocrRequired(err)
		}
		if errors.Is(err, ocr.ErrUnavailable) {
			return "", fmt.Errorf("%s is an image: %w", name, err)
		}
		return "", err
	}
	text, err := r.Read(ctx, data)
	if err != nil {
		return "", fmt.Errorf("reading the screenshot %s: %w", name, err)
	}
	return text, nil
}
