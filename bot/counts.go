package bot

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/upgradebot/upgradebot/progress"
)

// CountsLine is the one counts line of status, reminders, App Home and
// digests (CONTRACTS.md), e.g. "failed 12 of 17 left · skipped 20 of 23
// left · 3 not named (skipped) · 8 republished": each group counts the
// modules named in it and those still open; what Service Center counted
// beyond the names is "not named". Parts with nothing to say are left out;
// "" when none has anything.
func CountsLine(st progress.Status) string {
	var parts []string
	for _, g := range []progress.Group{progress.GroupFailed, progress.GroupSkipped, progress.GroupReported} {
		if named := st.Open.Of(g) + st.Republished.Of(g); named > 0 {
			parts = append(parts, fmt.Sprintf("%s %d of %d left", g, st.Open.Of(g), named))
		}
	}
	if n := st.Unnamed(); n > 0 {
		parts = append(parts, fmt.Sprintf("%d not named (%s)", n, unnamedKind(st)))
	}
	if n := st.Republished.Total() + coveredUnnamed(st); n > 0 {
		parts = append(parts, fmt.Sprintf("%d republished", n))
	}
	return strings.Join(parts, " · ")
}

// coveredUnnamed is how many modules Service Center counted and nobody
// named that a done of all covered.
func coveredUnnamed(st progress.Status) int {
	if !st.UnnamedCovered {
		return 0
	}
	st.UnnamedCovered = false
	return st.Unnamed()
}

// unnamedKind says what the unnamed modules can be: when every failed
// module Service Center counted is named, the rest can only be skipped ones.
func unnamedKind(st progress.Status) string {
	failedLeft := st.Counts.Failed != nil && *st.Counts.Failed > st.Open.Failed+st.Republished.Failed
	skippedLeft := st.Counts.Skipped != nil && *st.Counts.Skipped > st.Open.Skipped+st.Republished.Skipped
	switch {
	case failedLeft && !skippedLeft, st.Counts.Skipped != nil && *st.Counts.Skipped == 0:
		return "failed"
	case skippedLeft && !failedLeft, st.Counts.Failed != nil && *st.Counts.Failed == 0:
		return "skipped"
	}
	return "failed or skipped"
}

// unnamedAdvice is the command that names the unnamed modules, as a sentence's end.
// The Error Log lists the failed modules; the skipped ones are in the
// preparation's report.
func (b *Bot) unnamedAdvice(st progress.Status) Line {
	const report = "Service Center's report of the preparation (Factory > Upgrades > Preparation from Platform Server 11.17, PrepareModules.aspx before)"
	them := "them"
	if st.Unnamed() == 1 {
		them = "it"
	}
	// The environment is named: in a channel following several, the command
	// without it is refused.
	failed, skipped := C(b.cmd+" failed "+st.Name+": <module>"), C(b.cmd+" skipped "+st.Name+": <module>")
	switch unnamedKind(st) {
	case "failed":
		return Line{T("check Service Center's Error Log and name " + them + ": "), failed, T(".")}
	case "skipped":
		return Line{T("find " + them + " in " + report + " and name " + them + ": "), skipped, T(".")}
	}
	return Line{T("find the failed ones in Service Center's Error Log and the skipped ones in " + report + ", and name them: "),
		failed, T(" or "), skipped, T(".")}
}

// orderRank is a module's group in the order to republish.
func orderRank(m progress.Module) int {
	switch {
	case m.Reason == progress.ReasonProducerNotPrepared || m.Producer:
		return 0
	case m.Reason == progress.ReasonFailed:
		return 1
	}
	return 2
}

// republishOrder puts producers before their consumers, as the edges
// learned from pasted Error Log rows say; elsewhere mods keep their order.
// It reports whether any edge between two listed modules decided the order.
func republishOrder(mods []progress.Module, edges []progress.Edge) ([]progress.Module, bool) {
	// Producers not prepared first, then failed modules, then the others
	// (each group as listed, oldest first): a skipped module consumes a
	// failed one, and republished before it, it fails again.
	mods = slices.Clone(mods)
	slices.SortStableFunc(mods, func(a, b progress.Module) int { return cmp.Compare(orderRank(a), orderRank(b)) })
	index := make(map[string]int, len(mods))
	for i, m := range mods {
		index[moduleKey(m.Name)] = i
	}
	needs := make(map[int][]int) // consumer → its listed producers
	used := false
	for _, e := range edges {
		p, okP := index[e.Producer]
		c, okC := index[e.Consumer]
		if okP && okC {
			needs[c] = append(needs[c], p)
			used = true
		}
	}
	if !used {
		return mods, false
	}
	for _, ps := range needs {
		slices.Sort(ps) // producers in list order
	}
	out := make([]progress.Module, 0, len(mods))
	placed := make([]bool, len(mods))
	visiting := make([]bool, len(mods))
	var place func(i int)
	place = func(i int) {
		if placed[i] || visiting[i] { // visiting: a cycle, kept in list order
			return
		}
		visiting[i] = true
		for _, p := range needs[i] {
			place(p)
		}
		placed[i] = true
		out = append(out, mods[i])
	}
	for i := range mods {
		place(i)
	}
	return out, true
}
