package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/progress"
)

func TestCheckName(t *testing.T) {
	tests := []struct {
		read, text string
		listed     []string
		want       string // "" when asked
		candidates string
	}{
		{"Claims_Core", "module 'Claims_Core' hasn't", nil, "Claims_Core", ""},
		{"EmployeeServices", "", nil, "EmployeeServices", ""},
		{"Claims Core", "module 'Claims Core' … try to publish 'Claims_Core'.", nil, "Claims_Core", ""},
		{"Claims Core", "module 'Claims Core' hasn't", []string{"Orders_IS", "Claims_Core"}, "Claims_Core", ""},
		{"ClaimsCore", "module 'ClaimsCore' hasn't", []string{"claims_core"}, "claims_core", ""},
		{"Orders_|S", "module 'Orders_|S'", []string{"Orders_IS"}, "Orders_IS", ""},
		{"ClaimsCore", "module 'ClaimsCore' … publish 'Claims_Core'", nil, "Claims_Core", ""},
		{"Claims Core", "module 'Claims Core' hasn't", nil, "", "Claims_Core,Claims Core"},
		{"Orders_|S", "module 'Orders_|S'", nil, "", "Orders_IS,Orders_|S"},
		{"Employee_ Services CW", "module 'Employee_ Services CW'", nil, "", "Employee__Services_CW,Employee_ Services CW"},
		{"HR BL", "HR BL HR BL", []string{"HR_BL", "HRBL"}, "", "HR_BL,HRBL"},
		// A reading a letter or two from another form in the picture, or
		// from a listed module, is asked about, not recorded.
		{"EmpiloyeeServices", "module 'EmpiloyeeServices' hasn't been prepared … try to publish 'EmployeeServices'.", nil, "", "EmpiloyeeServices,EmployeeServices"},
		{"Fomecedores", "Upgrade failed for Fomecedores", []string{"Fornecedores"}, "", "Fomecedores,Fornecedores"},
		{"Fornecedores", "Upgrade failed for Fornecedores", []string{"Fornecedores", "Fornecedor"}, "Fornecedores", ""},
		// A name the Error Log's column wrapped inside a word is asked about, whole first.
		{"CustomerPortal_CoreWidg", "Upgrade failed for CustomerPortal_CoreWidg\nets\n2020-10-28 19:23:00\nCompilerService", nil, "", "CustomerPortal_CoreWidgets,CustomerPortal_CoreWidg"},
		{"Billing_CS", "Upgrade failed for Billing_CS\n2020-10-28 19:23:00\nCompilerService", nil, "Billing_CS", ""},
		// Accented names the English model misread (cmd/upgradebot's
		// TestOCRAccentedModuleNames): seen for the first time, asked about;
		// read without their accents, the listed name.
		{"Gestao_Clientes", "module 'Gestao_Clientes' … publish 'Gestao_Clientes'.", nil, "", "Gestao_Clientes"},
		{"Faturagao_CS", "Upgrade failed for Faturagao_CS", nil, "", "Faturagao_CS"},
		{"Configuraci6n_Core", "module 'Configuraci6n_Core'", nil, "", "Configuraci6n_Core"},
		{"Relatérios_IS", "module 'Relatérios_IS'", nil, "", "Relatérios_IS"},
		{"Préstamos_BL", "module 'Préstamos_BL'", nil, "", "Préstamos_BL"},
		{"Faturacao_CS", "Upgrade failed for Faturacao_CS", []string{"Faturação_CS"}, "Faturação_CS", ""},
		{"Gestao Clientes", "module 'Gestao Clientes'", []string{"Orders_IS", "Gestão_Clientes"}, "Gestão_Clientes", ""},
		{"Préstamos_BL", "module 'Préstamos_BL'", []string{"Préstamos_BL"}, "Préstamos_BL", ""},
		{"Ffaturacao_CS", "Upgrade failed for Ffaturacao_CS", []string{"Faturação_CS"}, "", "Ffaturacao_CS,Faturação_CS"},
		{"Relatérios_IS", "module 'Relatérios_IS'", []string{"Relatórios_IS"}, "", "Relatérios_IS,Relatórios_IS"},
		// Ordinary names that only resemble those readings are recorded.
		{"Scenario_CS", "Upgrade failed for Scenario_CS", nil, "Scenario_CS", ""},
		{"Victoria_Portal", "Upgrade failed for Victoria_Portal", nil, "Victoria_Portal", ""},
		{"Macao_CS", "Upgrade failed for Macao_CS", nil, "Macao_CS", ""},
		{"Suspicion_CS", "Upgrade failed for Suspicion_CS", nil, "Suspicion_CS", ""},
		{"Inventario", "Upgrade failed for Inventario", nil, "Inventario", ""},
		{"Agencia_CS", "Upgrade failed for Agencia_CS", nil, "Agencia_CS", ""},
		{"Log4net_Ext", "Upgrade failed for Log4net_Ext", nil, "Log4net_Ext", ""},
		{"oauth2client", "Upgrade failed for oauth2client", nil, "oauth2client", ""},
	}
	for _, tt := range tests {
		got, candidates := checkName(tt.read, tt.text, tt.listed)
		if got != tt.want || strings.Join(candidates, ",") != tt.candidates {
			t.Errorf("checkName(%q, %q, %v) = %q %q, want %q %q", tt.read, tt.text, tt.listed, got, candidates, tt.want, tt.candidates)
		}
	}
}

// A first-seen name is recorded as read only in a shape OCR rarely gets
// wrong: the ordinary names of the real screenshots and of OutSystems'
// naming styles are; accented names and the English model's readings of
// them (TestOCRAccentedModuleNames in cmd/upgradebot) are not. Names that
// only resemble those readings are ordinary (they were asked about: digits
// in Log4net, endings of Scenario, Inventario, Agencia, Macao, Suspicion).
func TestSureShape(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"Billing_CS", true}, {"Claims_Core", true}, {"Orders_IS", true}, {"Portal_Th", true}, {"HR_BL", true},
		{"EmployeeServices", true}, {"Employees", true}, {"Directory", true}, {"FieldServicesMobile", true},
		{"FloorPlan_SampleData", true}, {"GoogleMapsTimezone", true}, {"OutSystemsNowService", true},
		{"Orders2", true}, {"OAuth2_Client", true}, {"B2B_Core", true}, {"Integration_Core", true},
		{"Version_API", true}, {"Session_Lib", true}, {"Clientes_CS", true}, {"Pedidos_Core", true},
		{"Faturação_CS", false}, {"Préstamos_BL", false}, {"Relatérios_IS", false}, {"Configuracién_Core", false},
		{"Gestao_Clientes", false}, {"GestaoClientes", false}, {"Faturacao_CS", false}, {"Faturagao_CS", false},
		{"Configuracion_Core", false}, {"Configuraci6n_Core", false}, {"Ffaturacao_CS", false}, {"faturagao_CS", false},
		{"Configuracoes", false}, {"Informacoes_Core", false}, {"Definicion_CS", false},
		// Correctly spelled without accents in Spanish or English, or with
		// digits OCR does not put for a letter.
		{"Scenario_CS", true}, {"TestScenarios", true}, {"ScenarioBuilder", true}, {"Victoria_Portal", true},
		{"Ontario_Portal", true}, {"Mario_Core", true}, {"Bavaria_IS", true}, {"Macao_CS", true}, {"Suspicion_CS", true},
		{"Inventario", true}, {"Diccionario_CS", true}, {"Agencia_CS", true}, {"Memoria_IS", true}, {"Usuario", true},
		{"Referencia_CS", true}, {"Relatorios_IS", true},
		{"Log4net_Ext", true}, {"log4net", true}, {"oauth2client", true}, {"Utf8util_Lib", true}, {"Kafka3lib", true},
		{"Ipv4lookup", true}, {"Md5hash", true},
	}
	for _, tt := range tests {
		if got := sureShape(tt.name); got != tt.want {
			t.Errorf("sureShape(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A module name a line break cut inside its quotes in pasted text (a log
// viewer's wrap) is asked about, the whole name first, not recorded cut; a
// name that ends its line, whatever the next line says, is recorded.
func TestWrappedNameInPastedTextIsAsked(t *testing.T) {
	const producer = "Producer module '%s' hasn't been prepared for the current OutSystems environment version. The Preparation of Modules may not have finished yet, failed, or it is on hold."
	tests := []struct {
		name, paste string
		asked       []string // the buttons, whole name first; nil: recorded
		recorded    string   // the names listed, when recorded
	}{
		{"a word of its own on the next line", "2026-12-07 07:00:00 Upgrade Failure: Upgrade failed for Billing_CS\nthanks", nil, "Billing_CS"},
		{"inside the quotes", fmt.Sprintf(producer, "CustomerPortal_Core\nWidgets"), []string{"CustomerPortal_CoreWidgets", "CustomerPortal_Core Widgets"}, ""},
		{"whole, a row after it", "2026-12-07 07:00:00 Upgrade Failure: Upgrade failed for Billing_CS\n2026-12-07 07:00:01 Upgrade Failure: Upgrade failed for Orders_CS", nil, "Billing_CS,Orders_CS"},
		{"whole, a sentence after it", "2026-12-07 07:00:00 Upgrade Failure: Upgrade failed for Billing_CS\nAny idea why?", nil, "Billing_CS"},
		{"whole, quoted on one line", fmt.Sprintf(producer, "Billing_CS"), nil, "Billing_CS"},
		{"a name of words, broken at one of its spaces", fmt.Sprintf(producer, "Orders\nand Billing"), nil, "Orders and Billing"},
		// A break beside an underscore is asked about as any other, the underscore kept.
		{"before the break, at an underscore", fmt.Sprintf(producer, "Billing_\nCS"), []string{"Billing_CS", "Billing_ CS"}, ""},
		{"after the break, at an underscore", fmt.Sprintf(producer, "CustomerPortal\r\n_CoreWidgets"), []string{"CustomerPortal_CoreWidgets", "CustomerPortal _CoreWidgets"}, ""},
		{"at an underscore, not upgraded", "Incomplete Upgrade Module Billing\r\n_CS was deployed with an old OutSystems Platform Server version. Please publish Billing_CS to fix it.", []string{"Billing_CS", "Billing _CS"}, ""},
		{"at an underscore, in italics", "_" + fmt.Sprintf(producer, "Billing_\nCS") + "_", []string{"Billing_CS", "Billing CS"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, store := newTestBot(t)
			cmd(t, b, "C1", "U1", "track prod")
			r := msg(t, b, "C1", "U1", "1.1", tt.paste)
			st, _ := store.Status(context.Background(), "T1", "prod", -1)
			if tt.asked == nil {
				var names []string
				for _, m := range st.Modules {
					names = append(names, m.Name)
				}
				if strings.Join(names, ",") != tt.recorded {
					t.Fatalf("listed %+v, want %s:\n%s", st.Modules, tt.recorded, text(r))
				}
				return
			}
			mustSay(t, text(r), "not sure of these module names, cut by a line break in the message")
			if len(st.Modules) != 0 {
				t.Fatalf("recorded %+v before the answer", st.Modules)
			}
			var labels []string
			for _, bl := range r.Reply.Blocks {
				for _, bt := range bl.Buttons {
					if strings.HasPrefix(bt.ActionID, ActionRecord+":") {
						labels = append(labels, bt.Label)
					}
				}
			}
			if !slices.Equal(labels, tt.asked) {
				t.Fatalf("asked %q, want %q", labels, tt.asked)
			}
			click(b, "a1", buttonsOf(r.Reply)[tt.asked[0]])
			if st, _ := store.Status(context.Background(), "T1", "prod", -1); len(st.Modules) != 1 || st.Modules[0].Name != tt.asked[0] {
				t.Errorf("the answer listed %+v, want %s", st.Modules, tt.asked[0])
			}
		})
	}
}

const unsureShot = "Old Producer: Producer module 'Claims Core' hasn't been prepared for the current OutSystems environment version."

// A name read from a screenshot that nothing confirms is not recorded: the
// reply shows it as read and asks, and the button's command records the
// answer once; the reply rebuilt then shows the name recorded.
func TestUnsureNameIsAsked(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	resp := imageMsg(t, b, "9.1", "", ImageText{Name: "shot.png", Text: unsureShot})
	out := text(resp)
	if !strings.Contains(out, "not sure of these module names") || !strings.Contains(out, "Read as Claims Core:") || strings.Contains(out, "Mark Claims Core republished") {
		t.Fatalf("reply:\n%s", out)
	}
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 0 {
		t.Fatalf("recorded before the answer: %+v", st.Modules)
	}
	bt := buttonsOf(resp.Reply)["Claims_Core"]
	if !strings.HasPrefix(bt.Command, "record ") || buttonsOf(resp.Reply)["Claims Core"].Command == "" {
		t.Fatalf("buttons: %+v", buttonsOf(resp.Reply))
	}
	answered := cmd(t, b, "C1", "U2", bt.Command)
	if !strings.Contains(text(answered), "recorded Claims_Core (read as Claims Core in a screenshot) on prod. 1 to republish.") {
		t.Errorf("answer:\n%s", text(answered))
	}
	if answered.Update == nil || strings.Contains(RenderText(answered.Update), "not sure") || !strings.Contains(RenderText(answered.Update), "Mark Claims_Core republished") {
		t.Errorf("rebuilt reply:\n%s", RenderText(answered.Update))
	}
	// The other candidate, clicked later: the question is answered.
	other := click(b, "other", buttonsOf(resp.Reply)["Claims Core"])
	if !other.Private || !strings.Contains(text(other), "already answered") {
		t.Errorf("second answer:\n%s", text(other))
	}
	st, _ := store.Status(context.Background(), "T1", "prod", -1)
	if st.ModuleCount != 1 || st.Modules[0].Name != "Claims_Core" {
		t.Errorf("modules: %+v", st.Modules)
	}
	if r := cmd(t, b, "C1", "U2", "record nope"); !strings.Contains(text(r), `I don't know the code "nope"`) {
		t.Errorf("unknown code:\n%s", text(r))
	}
}

// A question's second answer is refused for as long as its buttons work,
// not only while the first answer's change key is remembered (a day).
func TestSecondAnswerAfterADay(t *testing.T) {
	now := testNow
	b, store := newClockBot(t, func() time.Time { return now })
	cmd(t, b, "C1", "U1", "track prod")
	resp := imageMsg(t, b, "9.1", "", ImageText{Name: "shot.png", Text: unsureShot})
	cmd(t, b, "C1", "U2", buttonsOf(resp.Reply)["Claims_Core"].Command)
	now = now.Add(progress.IdempotencyTTL + time.Hour)
	if other := cmd(t, b, "C1", "U3", buttonsOf(resp.Reply)["Claims Core"].Command); !strings.Contains(text(other), "already answered") {
		t.Errorf("second answer a day later:\n%s", text(other))
	}
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 1 {
		t.Errorf("modules: %+v", st.Modules)
	}
}

// At most five names are asked about in one reply; the others are named.
func TestAtMostFiveQuestions(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	var shot strings.Builder
	for i := range 7 {
		fmt.Fprintf(&shot, "Upgrade Failure: Upgrade failed for Mod %c Core\n", 'A'+i)
	}
	resp := imageMsg(t, b, "9.2", "", ImageText{Name: "log.png", Text: shot.String()})
	out := text(resp)
	if n := strings.Count(out, "Read as "); n != 5 || !strings.Contains(out, "2 more names were not recorded") {
		t.Errorf("%d questions:\n%s", n, out)
	}
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 0 {
		t.Errorf("recorded: %+v", st.Modules)
	}
}

// A name confirmed by the environment's list is recorded under the listed name.
func TestNameCorrectedFromTheList(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	cmd(t, b, "C1", "U1", "failed Claims_Core")
	out := text(imageMsg(t, b, "9.3", "", ImageText{Name: "shot.png", Text: unsureShot}))
	if strings.Contains(out, "not sure") || !strings.Contains(out, "Claims_Core") {
		t.Errorf("reply:\n%s", out)
	}
	st, _ := store.Status(context.Background(), "T1", "prod", -1)
	if st.ModuleCount != 1 || st.Modules[0].Name != "Claims_Core" {
		t.Errorf("modules: %+v", st.Modules)
	}
}

// In a channel following several environments, the names are asked about
// once the environment is chosen.
func TestUnsureNameAfterTheChoiceOfEnvironment(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track qa")
	cmd(t, b, "C1", "U1", "track prod")
	resp := imageMsg(t, b, "9.4", "", ImageText{Name: "shot.png", Text: unsureShot})
	if out := text(resp); !strings.Contains(out, "Which environment is this about?") || strings.Contains(out, "Read as") {
		t.Fatalf("reply:\n%s", out)
	}
	chosen := click(b, "choose", buttonsOf(resp.Reply)["prod"])
	if chosen.Update == nil || !strings.Contains(RenderText(chosen.Update), "Read as Claims Core") {
		t.Fatalf("after the choice: %s", text(chosen))
	}
	answered := click(b, "answer", buttonsOf(chosen.Update)["Claims_Core"])
	if !strings.Contains(text(answered), "recorded Claims_Core (read as Claims Core in a screenshot) on prod") {
		t.Errorf("answer:\n%s", text(answered))
	}
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 1 || st.Modules[0].Name != "Claims_Core" {
		t.Errorf("modules: %+v", st.Modules)
	}
}

// A module named by a message the knowledge base says to record
// (`republish`), read from a screenshot, is checked like the others:
// unsure, it is asked about rather than recorded.
func TestUnsureNameOfAReportedModuleIsAsked(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	shot := "Producer 'Claims Core' was published with a different Platform Server version. Please republish 'Claims Core' to prevent runtime errors."
	out := text(imageMsg(t, b, "9.9", "", ImageText{Name: "studio.png", Text: shot}))
	if !strings.Contains(out, "Read as Claims Core:") {
		t.Errorf("reply:\n%s", out)
	}
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 0 {
		t.Errorf("recorded before the answer: %+v", st.Modules)
	}
}

// A screenshot of a module's page in Service Center names the module in
// its title, not in the message: the reply asks with that name (one
// button), records nothing until answered, and the answer records it.
func TestModulePageScreenshot(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0")
	ocr := "Module EmployeeServices\nBack to Modules List\nGeneral Log\nError Log\nStatus\nA\nThis Module hasn't been upgraded to the current environment version. Please publish the module.\nAlternatively, run another environment upgrade."
	r := b.HandleMessage(context.Background(), Message{Workspace: "T1", Channel: "C1", User: "U1", TS: "5.1", Images: []ImageText{{Name: "shot.png", Text: ocr}}})
	out := text(r)
	mustSay(t, out, "The screenshot is of the page of EmployeeServices in Service Center")
	if strings.Contains(out, "Which module shows this?") {
		t.Errorf("the reply asks twice:\n%s", out)
	}
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 0 {
		t.Errorf("recorded before the answer: %+v", st.Modules)
	}
	answer, ok := buttonsOf(r.Reply)["EmployeeServices"]
	if !ok {
		t.Fatalf("no button for the page's module:\n%s", out)
	}
	mustSay(t, text(cmd(t, b, "C1", "U1", answer.Command)), "recorded EmployeeServices")
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 1 || st.Modules[0].Reason != progress.ReasonNotUpgraded {
		t.Errorf("after the answer: %+v", st.Modules)
	}
	// The page copied as text is asked about the same way.
	paste := "Module EmployeeServices\nBack to Modules List\tGeneral Log\tError Log\nStatus\tThis Module hasn’t been upgraded to the current environment version. Please publish the module. Alternatively, run another environment upgrade."
	pr := msg(t, b, "C1", "U1", "5.2", paste)
	mustSay(t, text(pr), "The text pasted is of the page of EmployeeServices in Service Center")
	if _, ok := buttonsOf(pr.Reply)["EmployeeServices"]; !ok {
		t.Errorf("no button for the pasted page's module:\n%s", text(pr))
	}
	// Another page's text, or the message alone, asks nothing.
	if modulePageTitle("Module EmployeeServices\nThis Module hasn't been upgraded") != "" {
		t.Error("a title without the page's link read as the module page")
	}
}
