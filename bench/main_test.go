package bench

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	if os.Getenv(noopEnv) == "1" {
		os.Exit(serveNoop())
	}
	code := m.Run()
	if fixture.stop != nil {
		fixture.stop()
	}
	cleanupBuilt()
	os.Exit(code)
}
