package progress

import (
	"encoding/json"
	"testing"
)

// storedModules are modules as the stores write them, and as older or
// damaged data may hold them.
var storedModules = []string{
	`{"name":"Billing_CS","reason":"producer_not_prepared","by":"U01","at":1700000000123,"source":"msg:C01:1700000000.000100#0","error":"Producer module 'Billing_CS' hasn't been prepared…","producer":true}`,
	`{"name":"Café \u00e9 \"quoted\" \\ <&>","reason":"failed","by":"U02","at":1,"source":"cmd:1","done_by":"U03","done_at":2}`,
	`{"name":"Orders","reason":"skipped","by":"","at":0,"source":"","unknown_field":[1,{"a":null}],"error":"line\nbreak\ttab"}`,
	`{"NAME":"Upper","Reason":"reported"}`,
	`{"name":"Dup","name":"Second"}`,
	`{"name":null,"at":null}`,
	`{}`,
	`{"name":"Bad","at":"not a number"}`,
	`{"name":"Cut`,
	`[]`,
	`not json`,
}

// TestDecodeModuleAsEncodingJSON: decodeModule reads what encoding/json
// reads, and refuses what it refuses.
func TestDecodeModuleAsEncodingJSON(t *testing.T) {
	for _, in := range storedModules {
		t.Run(in, func(t *testing.T) {
			var want wireModule
			wantErr := json.Unmarshal([]byte(in), &want)
			got, err := decodeModule([]byte(in))
			if (err != nil) != (wantErr != nil) {
				t.Fatalf("error %v, encoding/json's %v", err, wantErr)
			}
			if err == nil && got != want {
				t.Errorf("got %+v, encoding/json reads %+v", got, want)
			}
		})
	}
}

// BenchmarkDecodeModule: decodeModule against encoding/json on a stored module
// (a status decodes every listed one).
func BenchmarkDecodeModule(b *testing.B) {
	in := []byte(storedModules[0])
	b.Run("decodeModule", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeModule(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var w wireModule
			if err := json.Unmarshal(in, &w); err != nil {
				b.Fatal(err)
			}
		}
	})
}
