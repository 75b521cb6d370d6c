package bot

import (
	"strings"
	"testing"

	"github.com/upgradebot/upgradebot/diagnosis"
)

// The name rules of CONTRACTS.md: separators, quotes, comments, end
// punctuation, look-alikes; what cannot be a name is refused as typed.
func TestModuleNamesTable(t *testing.T) {
	e := diagnosis.New(diagnosis.Builtin())
	for _, tc := range []struct{ args, names, refused string }{
		{"Billing_CS (the one from the error log), Orders_Core and Pricing_Lib", "Billing_CS|Orders_Core|Pricing_Lib", ""},
		{"Orders_UI.", "Orders_UI", ""},
		{"Orders_UI, Invoices_UI; Billing_CS!", "Orders_UI|Invoices_UI|Billing_CS", ""},
		{"Billing.Core HR_Onboarding-API", "Billing.Core|HR_Onboarding-API", ""},
		{"A\nB\r\nC\tD", "A|B|C|D", ""},
		{"Orders AND Billing and", "Orders|Billing", ""},
		{`"Customer Portal" and 'Back Office', “Curly Name” ‘Single’`, "Customer Portal|Back Office|Curly Name|Single", ""},
		{`"and"`, "and", ""},
		{"Orders (see (nested) note) Billing", "Orders|Billing", ""},
		{"Orders (unclosed comment Billing\nInvoices", "Orders|Invoices", ""},
		{"Orders log) Billing", "Orders|Billing", "log)"},
		{"*Billing_CS* `Orders_Core`.", "Billing_CS|Orders_Core", ""},
		{"Billing_CS billing_cs BILLING_CS.", "Billing_CS", ""},
		{"Caf\u00e9 Cafe\u0301", "Caf\u00e9", ""},
		{"Billing\u200b_CS \u2066Orders\u2069", "Billing_CS|Orders", ""},
		{"Orders & Billing", "Orders|Billing", "&"},
		{"<@U0BOSS> Orders <https://evil.example|x>", "Orders", "<@U0BOSS>|<https://evil.example|x>"},
		{"O'Brien Orders/UI #42 Orders", "Orders", "O'Brien|Orders/UI|#42"},
		{"- ... Orders", "Orders", "-"}, // punctuation alone names nothing
		{`Orders "*"`, "Orders", ""},
		{"Nest\u00e9d_\u0645\u0648\u062f\u064a\u0648\u0644", "Nest\u00e9d_\u0645\u0648\u062f\u064a\u0648\u0644", ""},
		{strings.Repeat("x", 201), "", strings.Repeat("x", 201)},
		{"", "", ""},
	} {
		names, refused := moduleNames(e, tc.args)
		if got := strings.Join(names, "|"); got != tc.names {
			t.Errorf("moduleNames(%q) names = %q, want %q", tc.args, got, tc.names)
		}
		if got := strings.Join(refused, "|"); got != tc.refused {
			t.Errorf("moduleNames(%q) refused = %q, want %q", tc.args, got, tc.refused)
		}
	}
}
