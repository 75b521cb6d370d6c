package slackbot

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"testing"
)

// A body's declared size allocates at most preallocMax before its bytes
// come: a request declaring 1 MiB and sending one byte holds little.
func TestReadBodyAllocatesWhatComes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		declared int64
		sent     string
		maxAlloc uint64
	}{
		{"declares 1 MiB, sends a byte", 1 << 20, "x", 64 << 10},
		{"declares 4 KiB, sends it", 4 << 10, strings.Repeat("x", 4<<10), 64 << 10},
		{"declares 200 KiB, sends it", 200 << 10, strings.Repeat("x", 200<<10), 2 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			body, err := readBody(strings.NewReader(tc.sent), tc.declared)
			runtime.ReadMemStats(&after)
			if int64(len(tc.sent)) == tc.declared && (err != nil || !bytes.Equal(body, []byte(tc.sent))) {
				t.Fatalf("read %d bytes, %v; want the %d sent", len(body), err, len(tc.sent))
			}
			if int64(len(tc.sent)) < tc.declared && err != io.ErrUnexpectedEOF && err != nil {
				t.Fatalf("a short body: %v", err)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > tc.maxAlloc {
				t.Errorf("allocated %d bytes, want at most %d", got, tc.maxAlloc)
			}
		})
	}
}
