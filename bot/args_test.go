package bot

import (
	"fmt"
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
		// "and" in the team's language, lower case between names; quoted, or last, a name.
		{"Gestão_Clientes, Relatórios_Core e Faturação_CS", "Gestão_Clientes|Relatórios_Core|Faturação_CS", ""},
		{"A_CS y B_CS en C_CS et D_CS und E_CS i F_CS", "A_CS|B_CS|C_CS|D_CS|E_CS|F_CS", ""},
		{`Orders "e" Billing y`, "Orders|e|Billing|y", ""},
		// German and Dutch quotes open low.
		{"„Gestão Relatórios“ „Back Office” ‚Single‘ ‚Men’s Portal’, Orders", "Gestão Relatórios|Back Office|Single|Men’s Portal|Orders", ""},
		{"Orders (see (nested) note) Billing", "Orders|Billing", ""},
		{"Orders (unclosed comment Billing\nInvoices", "Orders|Invoices", ""},
		{"Orders log) Billing", "Orders|Billing", "log)"},
		{"*Billing_CS* `Orders_Core`.", "Billing_CS|Orders_Core", ""},
		{"Billing_CS billing_cs BILLING_CS.", "Billing_CS", ""},
		{"Caf\u00e9 Cafe\u0301", "Caf\u00e9", ""},
		{"Billing\u200b_CS \u2066Orders\u2069", "Billing_CS|Orders", ""},
		// Characters NFC turns into punctuation the names leave out (Greek ";" and "`").
		{"\"0\u037e\" 0\u037e Orders\u1fef", "0|Orders", ""},
		{"Orders & Billing", "Orders|Billing", "&"},
		{"<@U0BOSS> Orders <https://evil.example|x>", "Orders", "<@U0BOSS>|<https://evil.example|x>"},
		{"O'Brien Orders/UI #42 Orders", "O'Brien|Orders", "Orders/UI|#42"},
		// Whatever a paste can record can be typed back, in quotes when it holds more than a word.
		{"O'Brien_Core Men’s_Portal", "O'Brien_Core|Men’s_Portal", ""},
		{`"O'Brien_Core" 'O'Brien_Core'`, "O'Brien_Core", ""},
		{`"Men's Portal", 'Men's Portal' and ‘Men’s Portal’`, "Men's Portal|Men’s Portal", ""},
		{`"Orders, Billing" "Core (old)" 'A "B" C' "R&D Portal" "Orders/UI"`, `Orders, Billing|Core (old)|A "B" C|R&D Portal|Orders/UI`, ""},
		{`'Back Office', 'Sales'`, "Back Office|Sales", ""},
		// Not names: an apostrophe outside a word, and in quotes no letter or digit, or markup.
		{`Orders' O''Brien "&" "<@U0BOSS>" Billing`, "Billing", "Orders'|O''Brien|&|<@U0BOSS>"},
		{"- ... Orders", "Orders", ""}, // punctuation alone names nothing
		// A pasted list: its markers are no names.
		{"- Invoices_UI\n1. Reports_UI\n2) Dashboard_UI\n• Billing_CS\n* Orders_UI", "Invoices_UI|Reports_UI|Dashboard_UI|Billing_CS|Orders_UI", ""},
		{"1. Reports_UI 2. Orders_UI, 10) Sales 1 Orders2", "Reports_UI|Orders_UI|Sales|Orders2", ""},
		{"1 - C_Core, 2 - D_Core\n3: E_Core\n1.1 K_Core\ni. L_Core\nb) M_Core", "C_Core|D_Core|E_Core|K_Core|L_Core|M_Core", ""},
		{`"1." "3.5" 4Sale`, "1|3.5|4Sale", ""}, // quoted, or more than a number, it is a name
		// Markers typed without a space; a table's status column after a tab.
		{"•Billing_CS\n1.Customer_IS\n2)Orders\n-Sales\n—Pricing", "Billing_CS|Customer_IS|Orders|Sales|Pricing", ""},
		// A colon or a dash separates names (CONTRACTS.md): no comment, as parentheses are.
		{"Billing_CS - Orders_Core: Pricing_Lib", "Billing_CS|Orders_Core|Pricing_Lib", ""},
		{"Pricing_Lib\tFailed\t02:11\n1\tReports_UI\tSkipped", "Pricing_Lib|Reports_UI", "02:11"},
		{`"Orders: old" Billing`, "Orders: old|Billing", ""},
		{`Orders "*"`, "Orders", ""},
		{"Nest\u00e9d_\u0645\u0648\u062f\u064a\u0648\u0644", "Nest\u00e9d_\u0645\u0648\u062f\u064a\u0648\u0644", ""},
		{strings.Repeat("x", 201), "", strings.Repeat("x", 201)},
		// done's and reset's confirmation is no name; quoted, it is one.
		{"Orders_Core --yes", "Orders_Core", ""},
		{"--YES Orders_Core", "Orders_Core", ""},
		{`"--yes"`, "--yes", ""},
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

// What the bot prints for a module (the Mark republished command) reads
// back as that module, whatever a paste could record.
func TestCommandNameReadsBack(t *testing.T) {
	e := diagnosis.New(diagnosis.Builtin())
	for _, tc := range []struct{ name, printed string }{
		{"Billing_CS", "Billing_CS"},
		{"O'Brien_Core", "O'Brien_Core"},
		{"Men's Portal", `"Men's Portal"`},
		{"Orders, Billing", `"Orders, Billing"`},
		{"Sales and Marketing", `"Sales and Marketing"`},
		{"Core (old)", `"Core (old)"`},
		{"Core(old)", `"Core(old)"`},
		{"Ünïcode Café", `"Ünïcode Café"`},
		{`A "B" C`, `'A "B" C'`},
		{`Men's "New" Portal`, `'Men's "New" Portal'`},
		{`Users' "New" Portal`, `“Users' "New" Portal”`},
		{"R&D", `"R&D"`},
		{"Orders;UI", `"Orders;UI"`},
		{"Orders UI", "\"Orders\u00a0UI\""},
		{"all", `"all"`},
		{"and", `"and"`},
		{"e", `"e"`},
		{"--yes", `"--yes"`},
		{"'quoted'", `"'quoted'"`},
	} {
		got := commandName(tc.name)
		if got != tc.printed {
			t.Errorf("commandName(%q) = %s, want %s", tc.name, got, tc.printed)
		}
		for _, args := range []string{got, "prod: " + got, got + " --yes"} {
			args, _ = confirmed(args)
			_, rest := splitEnvPrefix(args)
			if names, refused := moduleNames(e, rest); len(names) != 1 || names[0] != tc.name || len(refused) > 0 {
				t.Errorf("%s reads as %q (refused %q), want %q", args, names, refused, tc.name)
			}
		}
	}
}

// Each module a paste records is marked republished by the command its
// button prints (the shell shows it, people paste it back).
func TestMarkDoneCommandWorks(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	for i, name := range []string{"O'Brien_Core", "Men's Portal", "Orders, Billing", "Core (old)", "Ünïcode Café", `A "B" C`, "Billing_CS"} {
		r := msg(t, b, "C1", "U1", fmt.Sprint(i+1, ".0"), "Producer module '"+name+"' hasn't been prepared for the current OutSystems environment version.")
		bt, ok := buttonsOf(r.Reply)["Mark "+name+" republished"]
		if !ok {
			t.Fatalf("%s: no Mark republished button in\n%s", name, text(r))
		}
		out := text(cmd(t, b, "C1", "U1", bt.Command))
		listed := name
		if strings.Contains(name, ",") {
			listed = commandName(name) // quoted where names are listed
		}
		if !strings.Contains(out, "republished "+listed+" on prod") {
			t.Errorf("%s: %s\n%s", name, bt.Command, out)
		}
		if st, _ := store.Status(t.Context(), "T1", "prod", -1); st.ModuleCount != 0 {
			t.Errorf("after %s: %+v", bt.Command, st.Modules)
		}
	}
}
