package ocr

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/diagnosis"
)

// BenchmarkScreenshots reads every real screenshot once per iteration, one
// at a time, and reports the median OCR time per screenshot (decoding,
// preparation and tesseract) next to the median time of the diagnosis
// alone on the text OCR produced:
//
//	go test ./ocr -run - -bench Screenshots -benchtime 3x
func BenchmarkScreenshots(b *testing.B) {
	dir := needScreenshots(b)
	r := needTesseract(b, Options{Concurrency: 1, Timeout: time.Minute})
	engine := diagnosis.New(diagnosis.Builtin())
	var images [][]byte
	for _, s := range screens {
		data, err := os.ReadFile(filepath.Join(dir, s.file))
		if err != nil {
			b.Fatal(err)
		}
		images = append(images, data)
	}
	const diagnoseRuns = 200
	var ocrTimes, diagnoseTimes []time.Duration
	for b.Loop() {
		for _, data := range images {
			start := time.Now()
			text, err := r.Read(context.Background(), data)
			if err != nil {
				b.Fatal(err)
			}
			ocrTimes = append(ocrTimes, time.Since(start))
			start = time.Now()
			for range diagnoseRuns {
				engine.Diagnose(text)
			}
			diagnoseTimes = append(diagnoseTimes, time.Since(start)/diagnoseRuns)
		}
	}
	b.ReportMetric(float64(median(ocrTimes))/1e6, "ms-ocr/screenshot")
	b.ReportMetric(float64(median(diagnoseTimes))/1e3, "µs-diagnose/screenshot")
	b.ReportMetric(float64(slices.Max(ocrTimes))/1e6, "ms-ocr-max/screenshot")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
