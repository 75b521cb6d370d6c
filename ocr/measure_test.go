package ocr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/diagnosis"
)

// TestMeasurePipelines OCRs the real screenshots with each preparation and
// page-segmentation variant, diagnoses the text with the built-in
// knowledge base and prints the table that README.md records. It takes a
// few minutes, so it runs only with UPGRADEBOT_OCR_MEASURE=1:
//
//	UPGRADEBOT_OCR_MEASURE=1 go test ./ocr -run TestMeasurePipelines -v -timeout 30m
//
// UPGRADEBOT_OCR_MEASURE_OUT=FILE also writes the table (markdown) and the
// texts to FILE.
func TestMeasurePipelines(t *testing.T) {
	if os.Getenv("UPGRADEBOT_OCR_MEASURE") == "" {
		t.Skip("set UPGRADEBOT_OCR_MEASURE=1 to measure the OCR variants on the real screenshots (minutes)")
	}
	dir := needScreenshots(t)
	// One worker by default: the times are then those of one OCR at a time.
	workers := 1
	if n, err := strconv.Atoi(os.Getenv("UPGRADEBOT_OCR_MEASURE_WORKERS")); err == nil && n > 0 {
		workers = n
	}
	r := needTesseract(t, Options{Concurrency: workers, Timeout: 5 * time.Minute})
	engine := diagnosis.New(diagnosis.Builtin())

	type prep struct {
		name string
		p    Pipeline
	}
	preps := []prep{
		{"1x", Pipeline{Scale: 1}},
		{"1x stretch", Pipeline{Scale: 1, Stretch: true}},
		{"2x bilinear", Pipeline{Scale: 2, Filter: Bilinear}},
		{"2x bicubic", Pipeline{Scale: 2, Filter: CatmullRom}},
		{"2x bicubic stretch", Pipeline{Scale: 2, Filter: CatmullRom, Stretch: true}},
		{"3x bilinear", Pipeline{Scale: 3, Filter: Bilinear}},
		{"3x bicubic", Pipeline{Scale: 3, Filter: CatmullRom}},
		{"3x bicubic stretch", Pipeline{Scale: 3, Filter: CatmullRom, Stretch: true}},
		{"4x bicubic stretch", Pipeline{Scale: 4, Filter: CatmullRom, Stretch: true}},
	}
	if only := os.Getenv("UPGRADEBOT_OCR_MEASURE_PREPS"); only != "" {
		preps = slices.DeleteFunc(preps, func(p prep) bool { return !slices.Contains(strings.Split(only, ","), p.name) })
	}
	psms := []int{3, 4, 6, 11, 12}
	if only := os.Getenv("UPGRADEBOT_OCR_MEASURE_PSMS"); only != "" {
		psms = nil
		for _, f := range strings.Split(only, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatal(err)
			}
			psms = append(psms, n)
		}
	}
	// Layout (word boxes) runs with sparse text, the mode it is built for.
	layoutPSM := 11

	type key struct {
		prep, file string
		psm        int
		layout     bool
	}
	type result struct {
		text string
		dur  time.Duration // preparation + tesseract
	}
	results := map[key]result{}
	var mu sync.Mutex
	jobs := make(chan key)
	var wg sync.WaitGroup
	for range r.opts.Concurrency {
		wg.Go(func() {
			for k := range jobs {
				data, err := os.ReadFile(filepath.Join(dir, k.file))
				if err != nil {
					t.Error(err)
					continue
				}
				var p Pipeline
				for _, pr := range preps {
					if pr.name == k.prep {
						p = pr.p
					}
				}
				p.MaxWorkPixels = DefaultPipeline.MaxWorkPixels
				start := time.Now()
				kind, _, err := r.check(data)
				if err != nil {
					t.Error(err)
					continue
				}
				img, err := decode(kind, data)
				if err != nil {
					t.Error(err)
					continue
				}
				g := prepare(toGray(img), p)
				text, err := r.run(context.Background(), g.gray, k.psm, 96*g.w/g.srcW, k.layout)
				if err != nil {
					t.Error(k, err)
					continue
				}
				mu.Lock()
				results[k] = result{text, time.Since(start)}
				mu.Unlock()
			}
		})
	}
	for _, pr := range preps {
		for _, psm := range psms {
			for _, s := range screens {
				jobs <- key{pr.name, s.file, psm, false}
			}
		}
		for _, s := range screens {
			jobs <- key{pr.name, s.file, layoutPSM, true}
		}
	}
	close(jobs)
	wg.Wait()

	// A row combines one preparation with one or two passes: "6" alone,
	// "11 layout" sparse text laid out from the word boxes, "6+11" both
	// texts concatenated, "6>11" the second only when the engine finds
	// nothing in the first.
	type pass struct {
		psm    int
		layout bool
	}
	type row struct {
		prep   string
		passes []pass
		combo  string // "", "+", ">"
	}
	var rows []row
	for _, pr := range preps {
		for _, psm := range psms {
			rows = append(rows, row{pr.name, []pass{{psm, false}}, ""})
		}
		rows = append(rows, row{pr.name, []pass{{layoutPSM, true}}, ""})
	}
	pairs := [][]pass{{{6, false}, {11, false}}, {{11, false}, {6, false}}, {{4, false}, {11, false}}, {{3, false}, {11, false}},
		{{11, true}, {6, false}}, {{11, true}, {3, false}}}
	for _, pr := range preps {
		if !strings.HasPrefix(pr.name, "3x bicubic") && !strings.HasPrefix(pr.name, "2x bicubic") {
			continue
		}
		for i, p := range pairs {
			if slices.ContainsFunc(p, func(x pass) bool { return !x.layout && !slices.Contains(psms, x.psm) }) {
				continue
			}
			if i == 0 {
				rows = append(rows, row{pr.name, p, "+"})
			}
			rows = append(rows, row{pr.name, p, ">"})
		}
	}

	var out strings.Builder
	fmt.Fprintf(&out, "| variant | %s | exact (of 12) | ids (of 12) | false alarms (of 3) | word recall | time total | time median |\n", shortNames())
	fmt.Fprintf(&out, "|---|%s---|---|---|---|---|---|\n", strings.Repeat("---|", len(screens)))
	var texts strings.Builder
	for _, rw := range rows {
		var parts []string
		for _, p := range rw.passes {
			parts = append(parts, strconv.Itoa(p.psm)+map[bool]string{true: " layout"}[p.layout])
		}
		name := rw.prep + " psm " + strings.Join(parts, rw.combo)
		var cells []string
		nExact, nIDs, nFalse := 0, 0, 0
		recall := 0.0
		var durs []time.Duration
		var total time.Duration
		for i, s := range screens {
			var text string
			var dur time.Duration
			for j, p := range rw.passes {
				if j > 0 && rw.combo == ">" && len(engine.Diagnose(text)) > 0 {
					break
				}
				res, ok := results[key{rw.prep, s.file, p.psm, p.layout}]
				if !ok {
					t.Fatalf("no result for %v", key{rw.prep, s.file, p.psm, p.layout})
				}
				if j > 0 {
					text += "\n\n"
				}
				text += res.text
				dur += res.dur
			}
			got := contractView(t, engine.Diagnose(text))
			v := judge(got, s.want)
			rec := wordRecall(s.truth, text)
			if i < 12 {
				recall += rec
				switch v {
				case exact:
					nExact++
					nIDs++
				case idsOnly:
					nIDs++
				}
			} else if len(got) > 0 {
				nFalse++
			}
			cells = append(cells, fmt.Sprintf("%s %.0f%%", v, 100*rec))
			durs = append(durs, dur)
			total += dur
			fmt.Fprintf(&texts, "\n### %s — %s: %s\n\n```\n%s\n```\n\nfindings: %s\n", name, s.file, v, text, jsonText(got))
		}
		slices.Sort(durs)
		fmt.Fprintf(&out, "| %s | %s | %d | %d | %d | %.1f%% | %.1fs | %.2fs |\n", name, strings.Join(cells, " | "),
			nExact, nIDs, nFalse, 100*recall/12, total.Seconds(), durs[len(durs)/2].Seconds())
	}
	t.Log("\n" + out.String())
	fmt.Println(out.String())
	if f := os.Getenv("UPGRADEBOT_OCR_MEASURE_OUT"); f != "" {
		if err := os.WriteFile(f, []byte(out.String()+"\n## Texts\n"+texts.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// shortNames are column heads for the screenshots: the file name without the common parts.
func shortNames() string {
	var names []string
	for _, s := range screens {
		n := strings.TrimSuffix(strings.TrimPrefix(s.file, "module-preparation-"), ".png")
		names = append(names, n)
	}
	return strings.Join(names, " | ")
}
