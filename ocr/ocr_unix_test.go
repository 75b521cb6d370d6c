//go:build unix

package ocr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestTimeoutKillsTheProcessGroup(t *testing.T) {
	dir := t.TempDir()
	// The fake starts a child and waits for it: a hung OCR with a helper process.
	bin := fakeTesseract(t, "eng", `sleep 30 &
echo $! > "`+dir+`/child"
wait`)
	r, err := New(Options{Binary: bin, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Read(context.Background(), tinyPNG(t))
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read = %v, want a *TimeoutError", err)
	}
	if te.While != "running tesseract" || !strings.Contains(err.Error(), "timed out after 300ms while running tesseract") {
		t.Errorf("error %q", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "child"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the child process %d outlived the timeout: the group was not killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
