package bot

import (
	"reflect"
	"testing"

	"github.com/upgradebot/upgradebot/progress"
)

// TestChangeListFollowing: a request's Response.Following holds the
// channels it read of a changed environment, unless it followed or
// unfollowed it after that read.
func TestChangeListFollowing(t *testing.T) {
	prod := progress.Environment{Workspace: "T1", Name: "prod", Channels: []string{"C1", "C2"}}
	for _, c := range []struct {
		name string
		do   func(l *changeList)
		want map[string][]string
	}{
		{"read, then changed", func(l *changeList) { l.keep("T1", prod, nil); l.wrote("T1", "prod", false) }, map[string][]string{"prod": {"C1", "C2"}}},
		{"read, then followed or unfollowed", func(l *changeList) { l.keep("T1", prod, nil); l.wrote("T1", "prod", true) }, nil},
		{"followed, then read", func(l *changeList) { l.wrote("T1", "prod", true); l.keep("T1", prod, nil) }, map[string][]string{"prod": {"C1", "C2"}}},
		{"read again after following", func(l *changeList) {
			l.keep("T1", prod, nil)
			l.wrote("T1", "prod", true)
			l.keep("T1", progress.Environment{Workspace: "T1", Name: "prod", Channels: []string{"C1", "C2", "C3"}}, nil)
		}, map[string][]string{"prod": {"C1", "C2", "C3"}}},
		{"another environment read", func(l *changeList) {
			l.keep("T1", progress.Environment{Workspace: "T1", Name: "qa", Channels: []string{"C1"}}, nil)
		}, nil},
		{"not read", func(*changeList) {}, nil},
	} {
		l := &changeList{}
		c.do(l)
		if got := l.following([]string{"prod"}); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: following = %v; want %v", c.name, got, c.want)
		}
	}
}
