package bench

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.stop != nil {
		fixture.stop()
	}
	cleanupBuilt()
	os.Exit(code)
}
