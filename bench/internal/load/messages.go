package load

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// chatLines are ordinary channel messages: none is an upgrade error, some
// talk about upgrades, modules and publishing, as people do around one.
var chatLines = []string{
	"morning all!",
	"thanks, that worked",
	"can someone review my PR for the invoice screen before lunch?",
	"the dashboard looks a bit slow today, I'll have a look later on",
	"deploy of the billing app to QA went fine, thanks Ana",
	"we start the platform upgrade on prod tonight at 22:00, please don't publish anything until we post the all clear here",
	"modules preparation usually takes about an hour on this environment",
	"who owns the Orders_UI module these days?",
	"I'm out tomorrow afternoon, ping Rui if the upgrade needs a hand",
	"lunch? :sandwich:",
	"is the staging environment up? I get a timeout on the login page",
	"ok, republishing Billing_CS now",
	"the release notes for 11.31 mention a change in the compiler, worth a read before we upgrade prod",
	"+1",
	"LifeTime shows dev and qa on the new version already",
	"let's keep this thread for the upgrade, the rest in #dev please",
	"did anyone change the site properties on qa? the emails stopped",
	"meeting moved to 15:30",
	"I published Customer Portal, looks good on my side",
	"the integration with SAP is failing again, not related to the upgrade I think",
	"<@U0LEAD> can you approve the change request for tonight's window?",
	"here is the link to the checklist: <https://intranet.example.com/upgrade-checklist|upgrade checklist>",
	"we had a similar issue last year, it was the timer that kept the module locked",
	"anyone knows how long the preparation took on qa?",
	"new build of the mobile app is in the store review queue",
	"the upgrade of dev finished yesterday without any trouble",
	"I'll write the post-mortem on Friday",
	"coffee machine on the 3rd floor is fixed :tada:",
	"can we do a quick call about the Directory module?",
	"perf test results are in the shared folder, p95 went from 420ms to 380ms",
}

// errorTemplates are pasted errors with a cause, so each gets a threaded
// answer; %[1]s is a module name.
var errorTemplates = []string{
	"Old Producer: Producer module '%[1]s' hasn't been prepared for the current OutSystems environment version. The Preparation of Modules may not have finished yet, failed, or it is on hold. Check Service Center for more details or try to publish '%[1]s'.",
	"publishing fails with this:\n```The 1-Click Publish started by ana.silva at 2024-03-12 10:15:02 can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 2024-03-12 10:01:44, that is locking '%[1]s' module.```",
	"There were errors preparing some modules.",
	"&gt; There was an error preparing your modules.\nany idea what to do? (%[1]s was the last one in the log)",
	"Service Center says: This Module hasn't been upgraded to the current environment version. Please publish the module. Alternatively, run another environment upgrade.",
	"The Configuration update started by rui.costa at 2024-03-12 11:00:10 can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 2024-03-12 10:01:44, that is locking '%[1]s' module.",
}

var modulePrefixes = []string{"Billing", "Orders", "Customer", "Invoices", "Directory", "Payments", "Reports", "Catalog", "Shipping", "Auth"}
var moduleSuffixes = []string{"_CS", "_UI", "_Core", "_API", "_Lib", "_BL", "_IS", "_Theme"}

func moduleName(r *rand.Rand) string {
	return fmt.Sprintf("%s%s%d", modulePrefixes[r.IntN(len(modulePrefixes))], moduleSuffixes[r.IntN(len(moduleSuffixes))], r.IntN(1000))
}

func chatText(r *rand.Rand) string {
	n := 1 + r.IntN(3)
	if n == 1 {
		return chatLines[r.IntN(len(chatLines))]
	}
	parts := make([]string, n)
	for i := range parts {
		parts[i] = chatLines[r.IntN(len(chatLines))]
	}
	return strings.Join(parts, "\n")
}

func errorText(r *rand.Rand) string {
	t := errorTemplates[r.IntN(len(errorTemplates))]
	if strings.Contains(t, "%[1]s") {
		return fmt.Sprintf(t, moduleName(r))
	}
	return t
}
