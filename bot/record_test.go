package bot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// errorLogRow is an Error Log row of Service Center: the module being
// published (the consumer) in the Module column, the error naming its producer.
func errorLogRow(consumer, producer string) string {
	return "2026-11-25 08:10:00\t" + consumer + "\t" + strings.ReplaceAll(producerPaste, "Billing_CS", producer)
}

// fortyModules is an upgrade of prod with 40 failed and skipped modules:
// 17 failed and 23 skipped counted, most named by two people, three
// producer → consumer pairs seen in Error Log rows, one module moved from
// skipped to failed, five republished, and three not named yet.
func fortyModules(t *testing.T) (*Bot, progress.Store) {
	t.Helper()
	now := testNow
	clock := func() time.Time { return now }
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	b := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store, Now: clock, BotUserID: "UBOT"})
	step := func(user, text string) {
		t.Helper()
		now = now.Add(7 * time.Minute)
		var r Response
		if strings.HasPrefix(text, "/upgrade ") {
			r = b.HandleCommand(context.Background(), Command{Workspace: "T1", Channel: "C1", User: user, ID: fmt.Sprint(now.Unix()), Text: strings.TrimPrefix(text, "/upgrade ")})
		} else {
			r = b.HandleMessage(context.Background(), Message{Workspace: "T1", Channel: "C1", User: user, TS: fmt.Sprint(now.Unix(), ".0001"), Text: text})
		}
		if r.Reply.Empty() && r.Announce.Empty() {
			t.Fatalf("%q: no answer", text)
		}
	}
	step("U1", "/upgrade track prod 11.31.0 self-managed")
	step("U1", "There were errors preparing some modules.\n180 modules prepared successfully, 17 modules failed and 23 modules skipped.")
	step("U1", "/upgrade failed Billing_CS, Pricing_Lib, Orders_Core, Customers_Core and Invoices_Core (from the Error Log)")
	step("U2", "/upgrade failed Stock_Core Payments_Core Shipping_Core Tax_Core Audit_Core Users_Core Reports_Core Search_Core Mail_Core Files_Core")
	step("U2", `/upgrade skipped Orders_UI, Invoices_UI, Customers_UI, Stock_UI, Payments_UI, Shipping_UI, "Back Office", Reports_UI, Search_UI, Mail_UI.`)
	step("U1", "/upgrade skipped Files_UI Users_UI Audit_UI Tax_UI Portal_Theme Portal_Menu Portal_Login Mobile_App Mobile_Sync Mobile_Offline Mobile_Push Kiosk_App")
	step("U1", errorLogRow("Orders_UI", "Orders_Core"))
	step("U2", errorLogRow("Invoices_UI", "Billing_CS"))
	step("U2", errorLogRow("Billing_CS", "Pricing_Lib"))
	step("U1", "/upgrade failed Kiosk_App") // a skipped one that failed after all
	step("U3", "/upgrade done customers_core, Stock_Core and Mail_UI")
	step("U3", "/upgrade done Portal_Theme Portal_Menu")
	return b, store
}

// goldenFile compares content with testdata/golden/name.
func goldenFile(t *testing.T, name string, content []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot -run Golden -update to create it)", err)
	}
	if string(want) != string(content) {
		t.Errorf("%s differs (go test ./bot -run Golden -update rewrites it):\n%s", path, content)
	}
}

func TestFortyModulesGolden(t *testing.T) {
	b, store := fortyModules(t)
	golden(t, "status-forty", cmd(t, b, "C1", "U1", "status prod").Reply)
	for _, format := range []string{"md", "csv"} {
		r := cmd(t, b, "C1", "U1", "export prod "+format)
		if r.File == nil {
			t.Fatalf("export %s: no file: %s", format, text(r))
		}
		goldenFile(t, "export-forty."+format, r.File.Content)
	}

	// One counts line, the same in status, reminder, App Home and digest.
	st, err := store.Status(context.Background(), "T1", "prod", ReminderModules)
	if err != nil {
		t.Fatal(err)
	}
	line := CountsLine(st)
	// 16 + 21 + 3 = Service Center's 17 + 23.
	if want := "failed 14 of 16 left · skipped 18 of 21 left · 3 not named (failed or skipped) · 5 republished"; line != want {
		t.Fatalf("counts line %q, want %q", line, want)
	}
	digest, err := b.Digest(context.Background(), []string{"T1"}, testNow, time.UTC, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for what, r := range map[string]*Reply{
		"status": cmd(t, b, "C1", "U1", "status prod").Reply, "reminder": b.Reminder(st, testNow, time.Hour, 0),
		"home": b.Home(context.Background(), "T1", nil), "digest": digest,
	} {
		if out := RenderText(r); !strings.Contains(out, line) {
			t.Errorf("%s lacks the counts line %q:\n%s", what, line, out)
		}
	}
}

// An Error Log pasted or shared as a file teaches which module needs which:
// the Module column of a producer's row is its consumer.
func TestEdgesFromErrorLogs(t *testing.T) {
	const csv = "Instant,Module_Name,Application_Name,Username,Message,Stack\n" +
		"2026-12-01 10:00:00,Orders_UI,Orders,admin,\"Producer module 'Orders_Core' hasn't been prepared for the current OutSystems environment version.\",\n"
	for _, tc := range []struct {
		name string
		send func(t *testing.T, b *Bot)
	}{
		{"pasted rows", func(t *testing.T, b *Bot) { msg(t, b, "C1", "U1", "1.1", errorLogRow("Orders_UI", "Orders_Core")) }},
		{"shared CSV", func(t *testing.T, b *Bot) { imageMsg(t, b, "1.2", "", b.ReadFile("errors.csv", []byte(csv))) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, store := newTestBot(t)
			cmd(t, b, "C1", "U1", "track prod")
			cmd(t, b, "C1", "U1", "skipped Orders_UI")
			tc.send(t, b)
			st, err := store.Status(context.Background(), "T1", "prod", -1)
			if err != nil {
				t.Fatal(err)
			}
			if want := []progress.Edge{{Producer: "orders_core", Consumer: "orders_ui"}}; fmt.Sprint(st.Edges) != fmt.Sprint(want) {
				t.Errorf("edges %v, want %v", st.Edges, want)
			}
			out := text(cmd(t, b, "C1", "U1", "status prod"))
			if !strings.Contains(out, "1. Orders_Core") || !strings.Contains(out, "producers before their consumers") {
				t.Errorf("status:\n%s", out)
			}
		})
	}
}

// A paste whose "qa:" names an environment tracked in another channel is
// recorded nowhere: not in the one this channel follows, not in qa.
func TestPrefixNamesAnotherChannelsEnvironment(t *testing.T) {
	ctx := context.Background()
	for _, paste := range []string{"qa: " + producerPaste, "qa: We are now preparing your modules - 40% (We expect them to be ready at 18:21)"} {
		b, store := newTestBot(t)
		cmd(t, b, "C1", "U1", "track prod")
		cmd(t, b, "C2", "U1", "track qa")
		out := text(msg(t, b, "C1", "U1", "1.1", paste))
		mustSay(t, out, "Not recorded: this is about qa, which this channel does not follow")
		for _, env := range []string{"prod", "qa"} {
			if st, _ := store.Status(ctx, "T1", env, -1); st.ModuleCount != 0 || st.State.Normal() != progress.StateFollowing {
				t.Errorf("%q in prod's channel changed %s: state %s, %+v", Shorten(paste, 30), env, st.State, st.Modules)
			}
		}
	}
	// A prefix that names no environment is no environment's: the paste is prod's.
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	msg(t, b, "C1", "U1", "1.1", "Error: "+producerPaste)
	if st, _ := store.Status(ctx, "T1", "prod", -1); st.ModuleCount != 1 {
		t.Errorf("a paste after \"Error:\" was not recorded for prod: %+v", st.Modules)
	}
}

// An environment's label in another form than "dev:" (after a mention or
// in a quote, in brackets, in bold on its own line, before a dash) names
// it too; in those forms only an environment's exact name is
// a label, so "[INFO]" or "Update -" leave the paste to the channel's.
func TestEnvironmentLabelForms(t *testing.T) {
	const paste = "Producer module 'Pricing_Lib' hasn't been prepared for the current OutSystems environment version."
	for i, tc := range []struct{ label, says string }{
		{"dev: ", "this is about dev, which this channel does not follow"},
		{"<@U0JOAO> dev: ", "this is about dev, which this channel does not follow"},
		{"<@UBOT> dev: ", "this is about dev, which this channel does not follow"},
		{"[dev] ", "this is about dev, which this channel does not follow"},
		{"DEV - ", "this is about dev, which this channel does not follow"},
		{"&gt; dev: ", "this is about dev, which this channel does not follow"},
		{"*DEV*\n", "this is about dev, which this channel does not follow"},
		{"dev -> ", "Recorded for test"}, // an arrow is no label ("dev -> test" is where it went)
		{"&gt; <@U0JOAO|joao> [Dev] ", "this is about dev, which this channel does not follow"},
		{"[TEST] ", "Recorded for test"},
		{"[INFO] ", "Recorded for test"},
		{"Update - ", "Recorded for test"},
		{"*Note*\n", "Recorded for test"},
		{"[staging] ", "Recorded for test"}, // an environment's word, but tracked nowhere
		{"[devs] ", "Recorded for test"},
	} {
		t.Run(tc.label, func(t *testing.T) {
			b, store := newTestBot(t)
			cmd(t, b, "CDEV", "U1", "track dev 11.31.0")
			cmd(t, b, "CTEST", "U1", "track test 11.31.0")
			out := text(msg(t, b, "CTEST", "U1", fmt.Sprintf("1.%d", i), tc.label+paste))
			mustSay(t, out, tc.says)
			if st, _ := store.Status(context.Background(), "T1", "dev", -1); st.ModuleCount != 0 {
				t.Errorf("recorded for dev in #test:\n%s", out)
			}
		})
	}
	// In a channel following several, the label picks one: no question.
	b, _ := newTestBot(t)
	for _, env := range []string{"dev", "test", "prod"} {
		cmd(t, b, "C1", "U1", "track "+env+" 11.31.0")
	}
	for i, tc := range []struct{ text, says string }{
		{"<@UBOT> test: Upgrade Failure: Upgrade failed for Billing_CS", "Recorded for test"},
		{"[prod] Upgrade Failure: Upgrade failed for Orders_Core", "Recorded for prod"},
		{"*dev*\nUpgrade Failure: Upgrade failed for Stock_Core", "Recorded for dev"},
		{"[dev] Upgrade Failure: Upgrade failed for A_Core\n[test] Upgrade Failure: Upgrade failed for B_Core", "the lines of this message start with 2 environments"},
	} {
		out := text(msg(t, b, "C1", "U1", fmt.Sprintf("2.%d", i), tc.text))
		mustSay(t, out, tc.says)
		if strings.Contains(out, "Which environment") {
			t.Errorf("%q asks which environment:\n%s", tc.text, out)
		}
	}
}

// The environment a writer's words name: "from dev to test" is about
// test; what is compared with ("had in dev", "same as dev") is not what
// the message is about; and two environments named are asked about
// rather than the first one picked.
func TestEnvironmentTheWordsName(t *testing.T) {
	const blocked = "The 1-Click Publish started by jane.doe at 2026-12-07 10:15 can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 2026-12-07 10:01, that is locking 'Directory' module."
	const producer = "Producer module 'Pricing_Lib' hasn't been prepared for the current OutSystems environment version."
	for _, tc := range []struct{ text, env string }{ // env "": asked
		{"Our LifeTime deployment from dev to test is stuck: " + blocked, "test"},
		{"Deploying from the dev to the test: " + blocked, "test"},
		{"Same thing we had in dev: " + producer, ""},
		{"As in dev: " + producer, ""},
		{"Same as dev: " + producer, ""},
		{"Same error we had in dev, now it's test's turn: " + producer, ""},
		{"Still failing on test after the dev fix: " + producer, ""},
		{"Failed on test and on prod: " + producer, ""},
		{"Failed on test: " + producer, "test"},
		{"No prod impact so far: " + producer, ""}, // "no" is no preposition: prod is only named
		{"Seen in des moines: " + producer, ""},    // everyday words: not dev, nor prod
		{"Failed for pro users: " + producer, ""},
		{"Like in prod, now failing on test: " + producer, "test"},
		{"We had it in prod too, now failing on test: " + producer, ""}, // no comparison word before "in": two named
		{"Just saw in prod: " + producer, "prod"},                       // seeing it there reports it
		{"Seen on test a minute ago: " + producer, "test"},
		{"Failed on test, same as we saw in dev: " + producer, "test"},
		{"Like we saw in prod, now failing on test: " + producer, "test"},
		{"Now failing on test, as seen in prod: " + producer, "test"},
		{"dev -> test: " + producer, ""},                      // an arrow is no label: two named
		{"&gt; prod: " + producer + "\nSame on test now", ""}, // a quote's label yields to the writer's words
		{"&gt; prod: " + producer + "\nAny idea?", "prod"},
	} {
		t.Run(Shorten(tc.text, 40), func(t *testing.T) {
			b, store := newTestBot(t)
			for _, env := range []string{"dev", "test", "prod"} {
				cmd(t, b, "C1", "U1", "track "+env+" 11.31.0")
			}
			out := text(msg(t, b, "C1", "U1", "1.1", tc.text))
			if tc.env == "" {
				mustSay(t, out, "Which environment is this about?")
			} else {
				mustSay(t, out, "Recorded for "+tc.env)
			}
			for _, env := range []string{"dev", "test", "prod"} {
				if st, _ := store.Status(context.Background(), "T1", env, -1); env != tc.env && (st.ModuleCount != 0 || st.State != progress.StateFollowing) {
					t.Errorf("recorded for %s (%s, %d modules):\n%s", env, st.State, st.ModuleCount, out)
				}
			}
		})
	}
}

// A team that chats in Portuguese, Spanish, Dutch, French or German
// labels and names its environments in its words ("hml:", "produção:",
// "em prod", "op acc"), with accents or without: another environment's
// is not recorded for the channel's, its own is recorded without asking,
// and English chat ("no, prd is fine", "dans des …") is as before.
func TestEnvironmentWordsOfOtherLanguages(t *testing.T) {
	const summary = "26 modules prepared successfully, 2 modules failed and 3 modules skipped."
	const producer = "Producer module 'Pricing_Lib' hasn't been prepared for the current OutSystems environment version."
	const failure = "Upgrade Failure: Upgrade failed for "
	notTracked := func(env string) string { return "Not recorded: this is about " + env + ", which is not tracked" }
	speaksOf := func(env, other string) string { return "Not recorded for " + env + ": the message speaks of " + other }
	for _, tc := range []struct {
		envs       []string // the channel's
		text, says string
		module     string // recorded for the first of envs, when says so
	}{
		{[]string{"prd"}, "hml: " + summary, notTracked("hml"), ""},
		{[]string{"prd"}, "homologacao: " + summary, notTracked("homologacao"), ""},
		{[]string{"prd"}, "Homologação: " + summary, notTracked("homologacao"), ""},
		{[]string{"prd"}, "qualidade: " + summary, notTracked("qualidade"), ""},
		{[]string{"prd"}, "[hml] " + producer, "Recorded for prd", "Pricing_Lib"}, // a label in brackets only by a followed one's exact name
		{[]string{"prd"}, "produção: " + producer, "Recorded for prd", "Pricing_Lib"},
		{[]string{"prd"}, "PRODUCCIÓN: " + producer, "Recorded for prd", "Pricing_Lib"},
		{[]string{"prd"}, "*Produção*\n" + producer, "Recorded for prd", "Pricing_Lib"},
		{[]string{"prd"}, failure + "Gestão_Clientes outra vez", "Recorded for prd", "Gestão_Clientes"},
		{[]string{"prd"}, failure + "Vendas_CS otra vez", "Recorded for prd", "Vendas_CS"},
		{[]string{"prd"}, failure + "Faturação_CS no prd", "Recorded for prd", "Faturação_CS"},
		{[]string{"prd"}, "em hml deu este erro: " + producer, speaksOf("prd", "hml"), ""},
		{[]string{"hml"}, "producao: " + summary, notTracked("producao"), ""},
		{[]string{"hml"}, "produção: " + summary, notTracked("producao"), ""},
		{[]string{"hml"}, "producción: " + summary, notTracked("produccion"), ""},
		{[]string{"hml"}, "productie: " + summary, notTracked("productie"), ""},
		{[]string{"hml"}, "pré-prod: " + summary, notTracked("pre-prod"), ""},
		{[]string{"hml"}, "homologação: " + producer, "Recorded for hml", "Pricing_Lib"},
		{[]string{"hml"}, "em prod deu este erro: " + producer, speaksOf("hml", "prod"), ""},
		{[]string{"hml"}, "en producción sale esto: " + producer, speaksOf("hml", "produccion"), ""},
		{[]string{"hml"}, "dans la prod: " + producer, speaksOf("hml", "prod"), ""},
		{[]string{"hml"}, "op de acc: " + producer, "Recorded for hml", "Pricing_Lib"}, // acceptatie is homologação
		{[]string{"hml"}, failure + "Faturação_CS no prd", speaksOf("hml", "prd"), ""},
		{[]string{"hml"}, failure + "Faturação_CS na produção", speaksOf("hml", "producao"), ""},
		{[]string{"hml"}, "op acceptatie: " + producer, "Recorded for hml", "Pricing_Lib"},
		{[]string{"prd"}, "op acceptatie: " + producer, speaksOf("prd", "acceptatie"), ""},
		// English, and everyday words, as before.
		{[]string{"hml"}, "no, prod is fine, but here: " + producer, "Recorded for hml", "Pricing_Lib"},
		{[]string{"hml"}, "dans des cas comme ça: " + producer, "Recorded for hml", "Pricing_Lib"},
		{[]string{"hml"}, "como em prod: " + producer, "Recorded for hml", "Pricing_Lib"}, // a comparison
		{[]string{"prod"}, "prd: " + producer, "Recorded for prod", "Pricing_Lib"},
		{[]string{"prod"}, "Produção: " + producer, "Recorded for prod", "Pricing_Lib"},
		{[]string{"prod"}, "no prd: " + producer, "Recorded for prod", "Pricing_Lib"},
		// "no", "na", "en", "op", "im" are English words too: before an
		// English environment word they are no preposition.
		{[]string{"qa"}, "no prod impact, but on our side: " + producer, "Recorded for qa", "Pricing_Lib"},
		{[]string{"uat"}, "we deployed, no prod impact yet: " + producer, "Recorded for uat", "Pricing_Lib"},
		{[]string{"prod"}, "we have no qa environment: " + producer, "Recorded for prod", "Pricing_Lib"},
		{[]string{"qa"}, "no test env for this, so: " + producer, "Recorded for qa", "Pricing_Lib"},
		{[]string{"qa"}, "no dev work planned, but: " + producer, "Recorded for qa", "Pricing_Lib"},
		{[]string{"prod"}, "no live users affected yet: " + producer, "Recorded for prod", "Pricing_Lib"},
		{[]string{"qa"}, "no perf impact seen: " + producer, "Recorded for qa", "Pricing_Lib"},
		{[]string{"qa"}, "there's no uat sign-off yet: " + producer, "Recorded for qa", "Pricing_Lib"},
		{[]string{"qa"}, "im prod support, got this: " + producer, "Recorded for qa", "Pricing_Lib"},
		{[]string{"qa"}, "the CI op test failed: " + producer, "Recorded for qa", "Pricing_Lib"},
		{[]string{"prod"}, "na dev also: " + producer, "Recorded for prod", "Pricing_Lib"},
		{[]string{"qa"}, "the en test failed: " + producer, "Recorded for qa", "Pricing_Lib"},
		{[]string{"qa"}, "tell 'em prod is down: " + producer, "Recorded for qa", "Pricing_Lib"},
		{[]string{"qa"}, "en route to prod: " + producer, "Recorded for qa", "Pricing_Lib"},
		{[]string{"qa"}, "Billing_CS, no prod impact: " + failure + "Billing_CS", "Recorded for qa", "Billing_CS"},
		{[]string{"preprod"}, "pré-prod: " + producer, "Recorded for preprod", "Pricing_Lib"},
		// An article only after the team's "in", and never a followed
		// environment's name: "de", "la" may be one.
		{[]string{"hml"}, "auf der prd: " + producer, speaksOf("hml", "prd"), ""},
		{[]string{"de", "fr"}, "failed in DE: " + producer, "Recorded for de", "Pricing_Lib"},
		{[]string{"de", "fr"}, "failed on de: " + producer, "Recorded for de", "Pricing_Lib"},
		{[]string{"la", "ny"}, "this is in LA: " + producer, "Recorded for la", "Pricing_Lib"},
		{[]string{"qa"}, "for la prod: " + producer, "Recorded for qa", "Pricing_Lib"},
		// "pro", "pre", "des", "hom" start English names: only a whole
		// name is an environment's.
		{[]string{"prod"}, "Pre_Checkout: Upgrade failed for Pre_Checkout", "Recorded for prod", "Pre_Checkout"},
		{[]string{"prod"}, "Pro_Portal: " + producer, "Recorded for prod", "Pricing_Lib"},
		{[]string{"qa"}, "pre-check: " + producer, "Recorded for qa", "Pricing_Lib"},
		{[]string{"qa"}, "Des_Lib: " + producer, "Recorded for qa", "Pricing_Lib"},
		{[]string{"qa"}, "PRE: " + summary, notTracked("pre"), ""},
		{[]string{"qa"}, "pro2: " + summary, notTracked("pro2"), ""},
		{[]string{"qa"}, "hml-eu: " + summary, notTracked("hml-eu"), ""},
		// The accented spelling of an environment tracked without accents.
		{[]string{"producao", "hml"}, "produção: " + producer, "Recorded for producao", "Pricing_Lib"},
		{[]string{"producao", "hml"}, "[Produção] " + producer, "Recorded for producao", "Pricing_Lib"},
		{[]string{"producao", "hml"}, "em produção: " + producer, "Recorded for producao", "Pricing_Lib"},
		{[]string{"hml", "producao"}, "homologação: " + producer, "Recorded for hml", "Pricing_Lib"},
	} {
		t.Run(Shorten(strings.Join(tc.envs, ",")+" "+tc.text, 50), func(t *testing.T) {
			b, store := newTestBot(t)
			for _, env := range tc.envs {
				cmd(t, b, "C1", "U1", "track "+env+" 11.31.0")
			}
			out := text(msg(t, b, "C1", "U1", "1.1", tc.text))
			mustSay(t, out, tc.says)
			if strings.Contains(out, "Which environment") {
				t.Errorf("asked which environment:\n%s", out)
			}
			for i, env := range tc.envs {
				st, _ := store.Status(context.Background(), "T1", env, -1)
				want := 0
				if i == 0 && tc.module != "" {
					want = 1
				}
				if len(st.Modules) != want || want == 1 && st.Modules[0].Name != tc.module || tc.module == "" && st.State != progress.StateFollowing {
					t.Errorf("%s: %s, %+v; want %d module %s:\n%s", env, st.State, st.Modules, want, tc.module, out)
				}
			}
		})
	}
}

// Someone's own sentence quoting the product's words is no environment's
// news: in a channel following several it gets the diagnosis, saying it
// was not recorded, rather than buttons asking which environment.
func TestSentenceIsNotAskedAbout(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track dev 11.31.0")
	cmd(t, b, "C1", "U1", "track test 11.31.0")
	for i, tc := range []struct {
		text string
		ask  bool
	}{
		{`how long does "We are now preparing your modules" usually take?`, false},
		{"I don't think there were errors preparing some modules, did anyone check?", false},
		{"We are now preparing your modules - 11% (We expect them to be ready at 18:21)", true},
	} {
		r := msg(t, b, "C1", "U1", fmt.Sprintf("1.%d", i), tc.text)
		out := text(r)
		if tc.ask {
			mustSay(t, out, "Which environment is this about?")
			continue
		}
		mustSay(t, out, "Not recorded: the message stands in a sentence of someone's own")
		if strings.Contains(out, "Which environment") || len(buttonsOf(r.Reply)) > 0 || r.React != "" {
			t.Errorf("%q: asked, or only reacted to (%q):\n%s", tc.text, r.React, out)
		}
	}
	for _, env := range []string{"dev", "test"} {
		if st, _ := store.Status(context.Background(), "T1", env, -1); st.State != progress.StateFollowing {
			t.Errorf("%s: %s, want nothing recorded", env, st.State)
		}
	}
}

// A paste about an environment this channel does not follow says where
// it is followed (the channels, as links), or that no channel follows it.
func TestElsewhereSaysWhereItIsFollowed(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "CDEV", "U1", "track dev 11.31.0")
	cmd(t, b, "CTEST", "U1", "track test 11.31.0")
	r := msg(t, b, "CTEST", "U1", "1.1", "dev: Upgrade Failure: Upgrade failed for Foo_CS")
	mustSay(t, text(r), "Not recorded: this is about dev, which this channel does not follow. Paste it in a channel that does (#CDEV), or /upgrade track dev here.")
	linked := false
	for _, bl := range r.Reply.Blocks {
		for _, l := range bl.Lines {
			linked = linked || slices.Contains(l, Ch("CDEV"))
		}
	}
	if !linked {
		t.Errorf("#CDEV is no channel link:\n%s", text(r))
	}
	cmd(t, b, "CDEV", "U1", "untrack dev")
	out := text(msg(t, b, "CTEST", "U1", "1.2", "dev: Upgrade Failure: Upgrade failed for Foo_CS"))
	mustSay(t, out, "Not recorded: this is about dev, which no channel follows now. /upgrade track dev here follows it in this channel")
	if strings.Contains(out, "where it is followed") || strings.Contains(out, "a channel that does") {
		t.Errorf("sent to a channel that follows dev, though none does:\n%s", out)
	}
}

// A paste naming no environment in the thread of a message recorded for
// one (by its label, or by the button answering which), or of that one's
// status message, is about it; not once that record was undone, nor when
// the channel does not follow it. The thread is read once, and only for a
// message in a thread that would otherwise ask.
func TestThreadFollowUps(t *testing.T) {
	b, counted := countedBot(t)
	store := counted.Store
	for _, env := range []string{"dev", "test", "prod"} {
		cmd(t, b, "C1", "U1", "track "+env+" 11.31.0")
	}
	cmd(t, b, "C2", "U1", "track qa 11.31.0")
	mustSay(t, text(msg(t, b, "C1", "U1", "1.1", "test: 26 modules prepared successfully, 2 modules failed and 0 modules skipped.")), "Recorded for test")
	asked := msg(t, b, "C1", "U1", "2.1", "Upgrade Failure: Upgrade failed for Orders_Core")
	mustSay(t, text(click(b, "c1", buttonsOf(asked.Reply)["prod"])), "Recorded for prod")
	undone := msg(t, b, "C1", "U1", "3.1", "dev: Upgrade Failure: Upgrade failed for A_Core")
	mustSay(t, text(click(b, "c2", buttonsOf(undone.Reply)["Undo"])), "Undone")
	msg(t, b, "C1", "U1", "4.1", "has anyone seen the upgrade banner today?")
	// What the transport keeps of a status message it posted.
	if err := store.PutValues(context.Background(), "T1", ThreadPut("C1", "9.1", "prod", time.Hour), ThreadPut("C1", "9.2", "qa", time.Hour)); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		thread, text, says string
		reads              int // of the thread
	}{
		{"1.1", "Upgrade Failure: Upgrade failed for Billing_CS", "Recorded for test", 1},
		{"1.1", "prod: Upgrade Failure: Upgrade failed for Pricing_Lib", "Recorded for prod", 0},
		{"1.1", "Now on dev too: Upgrade Failure: Upgrade failed for Tax_Core", "Recorded for dev", 0},
		{"1.1", "Same in dev and prod: Upgrade Failure: Upgrade failed for Mail_Core", "Which environment is this about?", 0},
		{"2.1", "Upgrade Failure: Upgrade failed for Stock_Core", "Recorded for prod", 1},
		{"3.1", "Upgrade Failure: Upgrade failed for B_Core", "Which environment is this about?", 1},
		{"4.1", "Upgrade Failure: Upgrade failed for C_Core", "Which environment is this about?", 1},
		{"9.1", "Upgrade Failure: Upgrade failed for Files_Core", "Recorded for prod", 1},
		{"9.2", "Upgrade Failure: Upgrade failed for D_Core", "Which environment is this about?", 1},
		{"", "Upgrade Failure: Upgrade failed for E_Core", "Which environment is this about?", 0},
	} {
		counted.calls = nil
		out := text(b.HandleMessage(context.Background(), Message{Workspace: "T1", Channel: "C1", User: "U1", TS: fmt.Sprintf("5.%d", i), ThreadTS: tc.thread, Text: tc.text}))
		if !strings.Contains(out, tc.says) {
			t.Errorf("in the thread of %q, %q: %q missing from\n%s", tc.thread, tc.text, tc.says, out)
		}
		reads := 0
		for _, c := range counted.calls {
			if strings.HasPrefix(c, "Value thread:") {
				reads++
			}
		}
		if reads != tc.reads {
			t.Errorf("in the thread of %q, %q: the thread read %d times, want %d", tc.thread, tc.text, reads, tc.reads)
		}
	}
	if st, _ := store.Status(context.Background(), "T1", "qa", -1); st.ModuleCount != 0 {
		t.Errorf("recorded for qa, which C1 does not follow: %+v", st.Modules)
	}
}

// A summary pasted last, or corrected by an edit, whose failed and skipped
// modules were all named and republished, finishes the upgrade: it is not
// an older message, and the list has nothing left.
func TestSummaryOfModulesAlreadyRepublished(t *testing.T) {
	ctx := context.Background()
	state := func(b *Bot, store progress.Store) progress.State {
		st, err := store.Status(ctx, "T1", "prod", 0)
		if err != nil {
			t.Fatal(err)
		}
		return st.State
	}
	t.Run("pasted last", func(t *testing.T) {
		b, store := newTestBot(t)
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		msg(t, b, "C1", "U1", "1.1", "Upgrade Failure: Upgrade failed for Billing_CS")
		cmd(t, b, "C1", "U2", "done Billing_CS")
		resp := msg(t, b, "C1", "U1", "1.2", "26 modules prepared successfully, 1 modules failed and 0 modules skipped.")
		if got := state(b, store); got != progress.StateDone {
			t.Errorf("state %s after the summary of the module republished, want done", got)
		}
		if resp.Announce == nil || !strings.Contains(RenderText(resp.Announce), "All clear on prod") {
			t.Errorf("no all clear: %+v", resp)
		}
	})
	t.Run("corrected by an edit", func(t *testing.T) {
		b, store := newTestBot(t)
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		msg(t, b, "C1", "U1", "2.1", "26 modules prepared successfully, 2 modules failed and 1 modules skipped.")
		msg(t, b, "C1", "U1", "2.2", "Upgrade Failure: Upgrade failed for Billing_CS")
		cmd(t, b, "C1", "U2", "done Billing_CS")
		edit := b.HandleEdit(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "2.1", Edited: "2.3", Text: "26 modules prepared successfully, 1 modules failed and 0 modules skipped."})
		if edit.Reply == nil || strings.Contains(RenderText(edit.Reply), "looks older") {
			t.Errorf("the edit's reply:\n%s", text(edit))
		}
		st, err := store.Status(ctx, "T1", "prod", 0)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != progress.StateDone || st.Unnamed() != 0 || *st.Counts.Failed != 1 {
			t.Errorf("after the edit: state %s, %d not named, counts %+v; want done, 0, 1 failed", st.State, st.Unnamed(), st.Counts)
		}
	})
}

// An export is the record of the upgrade under way: after a reset, its
// timeline starts at the reset, and says the earlier entries are left
// out; undone, the reset's upgrade is whole again.
func TestExportAfterAReset(t *testing.T) {
	now := testNow
	b, _ := newClockBot(t, func() time.Time { return now })
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	cmd(t, b, "C1", "U1", "failed First_Core")
	now = now.Add(time.Hour)
	reset := cmd(t, b, "C1", "U1", "reset prod --yes")
	now = now.Add(time.Minute)
	cmd(t, b, "C1", "U1", "failed Second_Core")
	exp := cmd(t, b, "C1", "U1", "export prod csv")
	if exp.File == nil {
		t.Fatalf("no file: %s", text(exp))
	}
	csv := string(exp.File.Content)
	mustSay(t, csv, "Second_Core", "reset")
	if strings.Contains(csv, "First_Core") {
		t.Errorf("the export after the reset holds the earlier upgrade:\n%s", csv)
	}
	mustSay(t, text(exp), "the 2 timeline entries of earlier upgrades are left out (/upgrade history prod all has them)")
	// So is the history, which says where the rest is.
	hist := text(cmd(t, b, "C1", "U1", "history prod"))
	mustSay(t, hist, "Second_Core", "2 entries of earlier upgrades: /upgrade history prod all has them all")
	if strings.Contains(hist, "First_Core") {
		t.Errorf("the history after the reset holds the earlier upgrade:\n%s", hist)
	}

	undo, ok := buttonsOf(reset.Announce)["Undo"]
	if !ok {
		t.Fatalf("no Undo on the reset:\n%s", text(reset))
	}
	now = now.Add(time.Minute)
	mustSay(t, text(click(b, "u0", undo)), "prod's new upgrade has news since the reset", "nothing changed")
	cmd(t, b, "C1", "U1", "undo") // Second_Core, the new upgrade's only news
	mustSay(t, text(click(b, "u1", undo)), "undid")
	exp = cmd(t, b, "C1", "U1", "export prod csv")
	mustSay(t, string(exp.File.Content), "First_Core")
	if strings.Contains(text(exp), "left out") {
		t.Errorf("after the reset's undo the export leaves entries out:\n%s", text(exp))
	}
}

// Each edit of a summary records what its latest text says, whatever was
// recorded since (a module named and republished, the all-clear).
func TestEditedSummaryRecordsItsLatestText(t *testing.T) {
	ctx := context.Background()
	summary := func(failed, skipped int) string {
		return fmt.Sprintf("26 modules prepared successfully, %d modules failed and %d modules skipped.", failed, skipped)
	}
	counts := func(t *testing.T, store progress.Store) (progress.Status, string) {
		st, err := store.Status(ctx, "T1", "prod", 0)
		if err != nil {
			t.Fatal(err)
		}
		return st, fmt.Sprintf("%d/%d, %d not named, %s", *st.Counts.Failed, *st.Counts.Skipped, st.Unnamed(), st.State)
	}
	edit := func(b *Bot, ts, edited, text string) Response {
		return b.HandleEdit(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: ts, Edited: edited, Text: text})
	}
	t.Run("edited twice", func(t *testing.T) {
		b, store := newTestBot(t)
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		msg(t, b, "C1", "U1", "1.1", summary(0, 2))
		cmd(t, b, "C1", "U1", "skipped Orders_UI")
		cmd(t, b, "C1", "U2", "done Orders_UI")
		edit(b, "1.1", "1.2", summary(0, 1))
		if _, got := counts(t, store); got != "0/1, 0 not named, done" {
			t.Errorf("after the first edit: %s", got)
		}
		// The same text again (a comment added): done it was, done it stays, said once.
		if again := edit(b, "1.1", "1.25", summary(0, 1)+" (from Service Center)"); again.Announce != nil {
			t.Errorf("the all-clear again:\n%s", text(again))
		}
		if _, got := counts(t, store); got != "0/1, 0 not named, done" {
			t.Errorf("after the same text again: %s", got)
		}
		out := text(edit(b, "1.1", "1.3", summary(0, 3)))
		if _, got := counts(t, store); got != "0/3, 2 not named, finished-with-errors" {
			t.Errorf("after the second edit: %s\n%s", got, out)
		}
		if strings.Contains(out, "looks older") {
			t.Errorf("the edit is held as older:\n%s", out)
		}
	})
	t.Run("raised after the all-clear", func(t *testing.T) {
		b, store := newTestBot(t)
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		msg(t, b, "C1", "U1", "2.1", "There were errors preparing some modules.\n"+summary(1, 0))
		cmd(t, b, "C1", "U1", "failed Billing_CS")
		cmd(t, b, "C1", "U2", "done Billing_CS")
		out := text(edit(b, "2.1", "2.2", "There were errors preparing some modules.\n"+summary(2, 1)))
		if _, got := counts(t, store); got != "2/1, 2 not named, finished-with-errors" {
			t.Errorf("after the edit: %s\n%s", got, out)
		}
	})
}

// Only an edit of a message that recorded a summary or banner is its
// author's correction: chat edited into a banner, or a summary held back
// and edited, is checked as a new paste is.
func TestEditForcesOnlyCorrections(t *testing.T) {
	ctx := context.Background()
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	msg(t, b, "C1", "U1", "1.1", "26 modules prepared successfully, 1 modules failed and 0 modules skipped.")
	cmd(t, b, "C1", "U1", "failed X_Core")
	cmd(t, b, "C1", "U1", "done X_Core")
	msg(t, b, "C1", "U2", "1.2", "anyone seen this before?")
	b.HandleEdit(ctx, Message{Workspace: "T1", Channel: "C1", User: "U2", TS: "1.2", Edited: "1.3", Text: "anyone seen this before?\n> There was an error preparing your modules."})
	if st, _ := store.Status(ctx, "T1", "prod", 0); st.State != progress.StateDone {
		t.Errorf("chat edited into a banner moved prod to %s", st.State)
	}
	held := msg(t, b, "C1", "U2", "1.4", "40 modules prepared successfully, 2 modules failed and 3 modules skipped.")
	mustSay(t, text(held), "this summary's counts differ from those recorded")
	b.HandleEdit(ctx, Message{Workspace: "T1", Channel: "C1", User: "U2", TS: "1.4", Edited: "1.5", Text: "40 modules prepared successfully, 2 modules failed and 3 modules skipped. "})
	if st, _ := store.Status(ctx, "T1", "prod", 0); *st.Counts.Prepared != 26 {
		t.Errorf("a held summary edited was recorded: %+v", st.Counts)
	}
}

// An edit that leaves the upgrade where it was (a typo fixed) says no
// milestone again.
func TestEditSaysNoMilestoneAgain(t *testing.T) {
	ctx := context.Background()
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	first := msg(t, b, "C1", "U1", "1.1", "There were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 2 modules skipped.")
	if first.Milestone == nil {
		t.Fatalf("no milestone for the summary:\n%s", text(first))
	}
	edit := b.HandleEdit(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Edited: "1.2", Text: "There were errors preparing some modules!\n26 modules prepared successfully, 1 modules failed and 2 modules skipped."})
	if edit.Milestone != nil {
		t.Errorf("the milestone again:\n%s", RenderText(edit.Milestone))
	}
}

// Service Center's ready banner after the list was emptied (with no
// summary) finishes the upgrade: done, and all clear, as in the other order.
func TestReadyAfterTheListEmptied(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	cmd(t, b, "C1", "U1", "failed X_Core")
	mustSay(t, text(cmd(t, b, "C1", "U1", "done X_Core")), "prod's list is empty")
	r := msg(t, b, "C1", "U1", "3.1", "This environment is ready (Release Notes)\nNo further actions are required.")
	mustSay(t, text(r), "All clear on prod")
	if st, _ := store.Status(context.Background(), "T1", "prod", 0); st.State != progress.StateDone {
		t.Errorf("state %s, want done", st.State)
	}
}

// An edit's correction is not labelled "recorded anyway" in the history:
// nobody clicked Record anyway.
func TestEditCorrectionIsNotRecordedAnyway(t *testing.T) {
	ctx := context.Background()
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	msg(t, b, "C1", "U1", "1.1", "26 modules prepared successfully, 1 modules failed and 2 modules skipped.")
	b.HandleEdit(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.1", Edited: "1.2", Text: "26 modules prepared successfully, 1 modules failed and 3 modules skipped."})
	h := historyOf(t, store, "prod")
	if last := h[len(h)-1].Detail; !strings.Contains(last, "3 skipped") || strings.Contains(last, "recorded anyway") {
		t.Errorf("the edit's history entry: %q", last)
	}
}

// history all hands every entry, earlier upgrades' too, as a file: what
// the message and the export after a reset leave out is there.
func TestHistoryAll(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	for i := range 26 {
		cmd(t, b, "C1", "U1", fmt.Sprintf("failed M%d", i))
	}
	cmd(t, b, "C1", "U1", "reset prod --yes")
	cmd(t, b, "C1", "U1", "failed N1")
	mustSay(t, text(cmd(t, b, "C1", "U1", "history prod")), "older entries: /upgrade history prod all has them all, as a file.")
	r := cmd(t, b, "C1", "U1", "history prod all")
	if r.File == nil {
		t.Fatalf("no file:\n%s", text(r))
	}
	mustSay(t, string(r.File.Content), "followed in C1, version 11.31.0", "1 module reported (failed): M0", "reset", "N1")
}

// The history and the change record word the reasons as people read them,
// not as the store codes them.
func TestHistoryReasonsReadable(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	msg(t, b, "C1", "U1", "1.1", producerPaste)
	msg(t, b, "C1", "U1", "1.2", "There was an error preparing your modules.")
	out := text(cmd(t, b, "C1", "U1", "history prod"))
	mustSay(t, out, "1 module reported (producer not prepared): Billing_CS", "preparation failed")
	if strings.Contains(out, "state set to") {
		t.Errorf("the history codes a state:\n%s", out)
	}
	exp := cmd(t, b, "C1", "U1", "export prod")
	if exp.File == nil || strings.Contains(string(exp.File.Content), "producer-not-prepared)") {
		t.Errorf("the change record codes a reason:\n%s", text(exp))
	}
	for _, code := range []string{",msg:", "| msg:", ",cmd:", "| cmd:"} {
		if strings.Contains(string(exp.File.Content), code) {
			t.Errorf("the change record shows a change key (%s):\n%s", code, exp.File.Content)
		}
	}
	mustSay(t, string(exp.File.Content), "message in C1 at 1.1")
	all := cmd(t, b, "C1", "U1", "history prod all")
	if all.File == nil || strings.Contains(string(all.File.Content), "producer-not-prepared)") || strings.Contains(string(all.File.Content), "state set to") {
		t.Errorf("history all codes a reason or a state:\n%s", text(all))
	}
	cmd(t, b, "C1", "U1", "reset prod --yes")
	msg(t, b, "C1", "U1", "1.3", producerPaste)
	mustSay(t, text(cmd(t, b, "C1", "U1", "undo")), "undid a change on prod (1 module reported (producer not prepared): Billing_CS)")
}

// An edit corrects its message's report: a module republished since stays
// republished (no reopened upgrade), and a message from before a reset
// records nothing into the new upgrade.
func TestEditOfAnOldReport(t *testing.T) {
	now := testNow
	b, store := newClockBot(t, func() time.Time { return now })
	ctx := context.Background()
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	msg(t, b, "C1", "U1", "1.1", "There were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 0 modules skipped.")
	msg(t, b, "C1", "U1", "1.2", "Upgrade Failure: Upgrade failed for Billing_CS")
	mustSay(t, text(cmd(t, b, "C1", "U2", "done prod: Billing_CS")), "All clear on prod")
	now = now.Add(time.Minute)
	edit := b.HandleEdit(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "1.2", Edited: "1.3", Text: "Upgrade Failure: Upgrade failed for Billing_CS (from the Error Log)"})
	if out := text(edit); strings.Contains(out, "no longer all clear") || strings.Contains(out, "listed again") {
		t.Errorf("the edit reopened the upgrade:\n%s", out)
	}
	if st, _ := store.Status(ctx, "T1", "prod", -1); st.State != progress.StateDone || st.ModuleCount != 0 {
		t.Errorf("after the edit: %s, %+v", st.State, st.Modules)
	}

	cmd(t, b, "C1", "U1", "track qa 11.31.0")
	msg(t, b, "C1", "U1", "2.1", "qa: "+producerPaste)
	now = now.Add(time.Minute)
	cmd(t, b, "C1", "U1", "reset qa --yes")
	now = now.Add(time.Minute)
	edit = b.HandleEdit(ctx, Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "2.1", Edited: "2.2", Text: "qa: " + strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS")})
	mustSay(t, text(edit), "That message came before qa's upgrade was started again")
	if st, _ := store.Status(ctx, "T1", "qa", -1); st.ModuleCount != 0 {
		t.Errorf("the edit of a message from before the reset recorded %+v", st.Modules)
	}
}

// One entry left out of the history is "1 older entry".
func TestHistoryOneOlderEntry(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	for i := range 25 {
		cmd(t, b, "C1", "U1", fmt.Sprintf("failed M%d", i))
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", "history prod")), "(1 older entry: ")
}

// "no" starting the line after a module's name is English ("No prod
// impact so far."), not the team's "in": it names no environment.
func TestNoOnTheNextLineIsEnglish(t *testing.T) {
	for _, tc := range []struct {
		envs   []string
		paste  string
		listed string // the environment that lists Billing_CS; "" for none (asked)
	}{
		{[]string{"qa", "prod"}, "Upgrade Failure: Upgrade failed for Billing_CS\nNo prod impact so far.", ""},
		{[]string{"qa"}, "Upgrade Failure: Upgrade failed for Billing_CS\nNo prod impact so far.", "qa"},
		{[]string{"uat"}, "Upgrade Failure: Upgrade failed for Billing_CS\nno dev changes were made", "uat"},
		{[]string{"hml"}, "Upgrade Failure: Upgrade failed for Billing_CS no prd", ""}, // the team's: prd's, held back
	} {
		b, store := newTestBot(t)
		for _, e := range tc.envs {
			cmd(t, b, "C1", "U1", "track "+e)
		}
		out := text(msg(t, b, "C1", "U1", "1.1", tc.paste))
		for _, e := range tc.envs {
			st, _ := store.Status(context.Background(), "T1", e, -1)
			if want := e == tc.listed; (st.ModuleCount == 1) != want {
				t.Errorf("%v, %q: %s lists %d; want Billing_CS listed there: %v\n%s", tc.envs, tc.paste, e, st.ModuleCount, want, out)
			}
		}
	}
}
