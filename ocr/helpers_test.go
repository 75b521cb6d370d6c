package ocr

import (
	"errors"
	"os"
	"testing"
)

// needTesseract returns a Reader, or skips the test when Tesseract is not
// installed; in CI (env CI set) a missing Tesseract fails the test instead.
func needTesseract(t testing.TB, opts Options) *Reader {
	t.Helper()
	r, err := New(opts)
	if errors.Is(err, ErrUnavailable) {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and Tesseract is required: %v", err)
		}
		t.Skipf("skipped without Tesseract: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return r
}
