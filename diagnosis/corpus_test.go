package diagnosis

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// corpusCase is one labelled message of testdata/corpus.json.
type corpusCase struct {
	Name string           `json:"name"`
	Text string           `json:"text"`
	Want []map[string]any `json:"want"`
	Note string           `json:"note"`
}

// contractKeys are the value keys CONTRACTS.md defines; other keys (title) are descriptive.
var contractKeys = []string{"module", "user", "started_at", "upgrade_started_at", "percent", "expected_at", "prepared", "failed", "skipped", "current", "total", "version", "consumer"}

func loadCorpus(t testing.TB, name string) []corpusCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Cases []corpusCase }
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c.Cases
}

// contractView is a finding as `diagnose --json` prints it, reduced to id and contract keys.
func contractView(t testing.TB, fs []Finding) []map[string]any {
	out := []map[string]any{}
	for _, f := range fs {
		raw, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		v := map[string]any{"id": m["id"]}
		for _, k := range contractKeys {
			// consumer is a contract key of producer-not-prepared only; other
			// entries may name a value so for their own use.
			if x, ok := m[k]; ok && (k != "consumer" || m["id"] == "producer-not-prepared") {
				v[k] = x
			}
		}
		out = append(out, v)
	}
	return out
}

// corpora are the labelled files: the first corpus, harder cases written
// afterwards to break the engine (red team), and OCR output of real
// Service Center screenshots with typical OCR noise.
var corpora = []string{"corpus.json", "corpus_extra.json", "corpus_ocr.json", "corpus_docs.json"}

func TestCorpus(t *testing.T) {
	for _, name := range corpora {
		t.Run(name, func(t *testing.T) { testCorpus(t, name) })
	}
}

func testCorpus(t *testing.T, file string) {
	e := New(Builtin())
	cases := loadCorpus(t, file)
	if len(cases) < 40 {
		t.Fatalf("%s has %d cases, want at least 40", file, len(cases))
	}
	var tp, fp, fn int
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got := contractView(t, e.Diagnose(c.Text))
			want := c.Want
			if want == nil {
				want = []map[string]any{}
			}
			// Precision and recall count findings by id, in order.
			matched := 0
			for i := 0; i < len(got) && i < len(want); i++ {
				if got[i]["id"] == want[i]["id"] {
					matched++
				}
			}
			tp += matched
			fp += len(got) - matched
			fn += len(want) - matched
			if !reflect.DeepEqual(got, want) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(want)
				t.Errorf("text %q\n got  %s\n want %s\n note: %s", c.Text, gj, wj, c.Note)
			}
		})
	}
	precision := float64(tp) / float64(max(1, tp+fp))
	recall := float64(tp) / float64(max(1, tp+fn))
	msg := fmt.Sprintf("%s: %d cases, %d findings expected; precision %.3f, recall %.3f (tp %d, fp %d, fn %d)", file, len(cases), tp+fn, precision, recall, tp, fp, fn)
	t.Log(msg)
	fmt.Println(msg)
}
