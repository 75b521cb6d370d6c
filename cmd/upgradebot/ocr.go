package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/upgradebot/upgradebot/config"
)

// errNoOCR is returned for screenshots while this build has no OCR.
var errNoOCR = errors.New("this version of upgradebot does not read screenshots yet: paste the error text instead")

// ocrReader reads text from screenshots.
type ocrReader struct{}

func newOCR(*config.Config, *slog.Logger) *ocrReader { return &ocrReader{} }

// note explains in help and the shell why screenshots are not read ("" when they are).
func (o *ocrReader) note() string {
	return "Screenshots are not read by this version: paste the error text."
}

// readFile is nil while screenshots are not read, so the shell says why.
var _ = (*ocrReader).note

func (o *ocrReader) readFileFunc() func(context.Context, string) (string, error) { return nil }

func readScreenshot(context.Context, *config.Config, string, []byte) (string, error) {
	return "", errNoOCR
}
