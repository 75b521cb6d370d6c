package diagnosis

import ("testing";"strings")

func BenchmarkMarginal(b *testing.B) {
	e := New(Builtin())
	errLine := "2024-03-12 10:15:02 ERROR Old Producer: Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version. The Preparation of Modules may not have finished yet, failed, or it is on hold. Check Service Center for more details or try to publish 'Billing_CS'.\n"
	i := strings.Index(paste4K, errLine)
	filler := strings.Repeat("x", len(errLine)-1) + "\n"
	zero := paste4K[:i] + filler + paste4K[i+len(errLine):]
	j := strings.Index(paste4K[i+len(errLine)+600:], "\n") + i + len(errLine) + 600 + 1
	two := paste4K[:j] + errLine + paste4K[j+len(errLine):]
	for _, c := range []struct{ name string; t string }{{"zero", zero}, {"one", paste4K}, {"two", two}} {
		b.Run(c.name, func(b *testing.B) {
			b.Logf("%d findings len %d", len(e.Diagnose(c.t)), len(c.t))
			for b.Loop() { e.Diagnose(c.t) }
		})
	}
}
