package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"status", "status", 0}, {"statsu", "status", 1}, {"stauts", "status", 1}, {"hepl", "help", 1}, {"ab", "ba", 1}, {"abc", "ca", 3}, {"stat", "status", 2}, {"", "abc", 3}, {"kitten", "sitting", 3}} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestClosest(t *testing.T) {
	if w, d := Closest("trak", []string{"track", "untrack", "status"}); w != "track" || d != 1 {
		t.Errorf("Closest = %q, %d", w, d)
	}
	if w, d := Closest("x", nil); w != "" || d != -1 {
		t.Errorf("Closest of nothing = %q, %d", w, d)
	}
}
