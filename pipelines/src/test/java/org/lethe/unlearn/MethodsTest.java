package org.lethe.unlearn;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.config.LetheConfig;
import org.lethe.model.ModelPresets;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The method presets: every name of the issue, each resolvable into registered loss terms, pinned term by term. */
class MethodsTest {

    @Test
    void everyPresetResolvesToRegisteredTerms() {
        List<String> names = Methods.all().stream().map(Methods.Method::name).toList();
        assertEquals(List.of("grad_ascent", "grad_diff", "kl", "npo", "npo+kl", "simnpo", "dpo", "idk", "me+gd",
                "idk+ap", "rmu", "undial", "wga", "satimp", "ce_u", "llmu"), names);
        for (Methods.Method m : Methods.all()) {
            assertEquals(m.forgetTerm(), LossTerms.forget(m.forgetTerm(), Map.of()).name());
            for (WeightedTerm r : m.retain()) {
                assertEquals(r.term(), LossTerms.retain(r.term(), Map.of()).name());
            }
            assertTrue(m.line().startsWith(m.name() + " "), m.line());
        }
        assertEquals("nll", Methods.get("grad_diff").retain().get(0).term());
        assertEquals(0.1, Methods.get("me+gd").forgetCoeff());
        assertEquals(List.of(new WeightedTerm("mismatch", 1), new WeightedTerm("kl", 1)),
                Methods.get("llmu").retain());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Methods.get("gd"));
        assertTrue(e.getMessage().contains("'gd'") && e.getMessage().contains("grad_diff"), e.getMessage());
        assertEquals("unknown unlearning method 'gd'; known: grad_ascent, grad_diff, kl, npo, npo+kl, simnpo, dpo,"
                + " idk, me+gd, idk+ap, rmu, undial, wga, satimp, ce_u, llmu", e.getMessage());
    }

    /** A term of a preset as it resolves: name, coefficient and the registry's default parameters. */
    private record Term(String name, double coeff, Map<String, Double> params) {}

    /** A preset as it resolves, with the learning rate the unlearn job uses when lethe.unlearn.lr = 0. */
    private record Pin(String method, Term forget, List<Term> retain, double lr) {}

    private static Term t(String name, double coeff, Map<String, Double> params) {
        return new Term(name, coeff, params);
    }

    private static final Map<String, Double> NONE = Map.of();
    private static final Term NLL = t("nll", 1.0, NONE);
    private static final Term KL = t("kl", 1.0, Map.of("all_positions", 0.0));
    private static final Term GA = t("ga", 1.0, NONE);
    private static final Term NPO = t("npo", 1.0, Map.of("beta", 0.1));
    private static final Term IDK = t("idk", 1.0, NONE);

    // The pin, written out by hand from the presets as they were registered in Java: changing a
    // preset's data (or a term's default parameter) must change this table too.
    private static final List<Pin> PINS = List.of(
            new Pin("grad_ascent", GA, List.of(), 1e-5),
            new Pin("grad_diff", GA, List.of(NLL), 1e-5),
            new Pin("kl", GA, List.of(KL), 1e-5),
            new Pin("npo", NPO, List.of(NLL), 1e-5),
            new Pin("npo+kl", NPO, List.of(KL), 1e-5),
            new Pin("simnpo", t("simnpo", 0.125, Map.of("beta", 4.5, "delta", 0.0)), List.of(NLL), 1e-5),
            new Pin("dpo", t("dpo", 1.0, Map.of("beta", 0.1)), List.of(NLL), 1e-5),
            new Pin("idk", IDK, List.of(NLL), 1e-5),
            new Pin("me+gd", t("me", 0.1, Map.of("all_positions", 0.0)), List.of(NLL), 1e-5),
            new Pin("idk+ap", IDK, List.of(t("ap", 1.0, Map.of("beta", 0.1))), 1e-5),
            new Pin("rmu", t("rmu", 1.0, Map.of("steering_coeff", 2.0, "seed", 0.0)),
                    List.of(t("embed_diff", 1.0, NONE)), 1e-5),
            new Pin("undial", t("undial", 1.0, Map.of("beta", 10.0)), List.of(), 1e-4),
            new Pin("wga", t("wga", 1.0, Map.of("beta", 1.0)), List.of(NLL), 1e-5),
            new Pin("satimp", t("satimp", 1.0, Map.of("beta1", 5.0, "beta2", 1.0)), List.of(NLL), 1e-5),
            new Pin("ce_u", t("ce_u", 1.0, NONE), List.of(NLL), 1e-5),
            new Pin("llmu", GA, List.of(t("mismatch", 1.0, NONE), KL), 1e-5));

    @Test
    void everyPresetResolvesToThePinnedTermsCoefficientsParametersAndLearningRate(@TempDir Path tmp)
            throws IOException {
        Path model = tmp.resolve("model");
        // UnlearnSpec.of reads only the model's config.json.
        ModelPresets.config("tiny", 40).write(model);
        assertEquals(PINS.stream().map(Pin::method).toList(),
                Methods.all().stream().map(Methods.Method::name).toList());
        for (Pin pin : PINS) {
            String name = pin.method();
            Methods.Method m = Methods.get(name);
            assertEquals(pin.forget().name(), m.forgetTerm(), name);
            assertEquals(pin.forget().coeff(), m.forgetCoeff(), name);
            assertEquals(new WeightedTerm(pin.forget().name(), pin.forget().coeff()), m.forget(), name);
            assertEquals(pin.forget().params(), LossTerms.forgetDefaults(m.forgetTerm()), name + " forget parameters");
            List<WeightedTerm> retain = pin.retain().stream().map(r -> new WeightedTerm(r.name(), r.coeff())).toList();
            assertEquals(retain, m.retain(), name);
            for (Term r : pin.retain()) {
                assertEquals(r.params(), LossTerms.retainDefaults(r.name()), name + " " + r.name() + " parameters");
            }
            // 1e-5 is the job's own default: a method without an lr default leaves it to the job.
            assertEquals(pin.lr() == 1e-5 ? Map.of() : Map.of("lr", pin.lr()), m.defaults(), name);

            UnlearnSpec spec = UnlearnSpec.of(LetheConfig.defaults().with(Map.of("unlearn.method", name,
                    "unlearn.model", model.toString(), "unlearn.dataset", "d")));
            assertEquals(pin.lr(), spec.lr(), name + " default learning rate");
            List<String> parts = new ArrayList<>();
            parts.add(pin.forget().name() + "=" + pin.forget().coeff());
            pin.retain().forEach(r -> parts.add(r.name() + "=" + r.coeff()));
            assertEquals(parts, spec.parts().stream().map(p -> p.term() + "=" + p.coeff()).toList(), name);
        }
        Object lr = Methods.get("undial").defaults().get("lr");
        assertEquals(Double.class, lr.getClass());
        assertEquals(1.0E-4, (Double) lr);
    }

    @Test
    void linesAreWhatLetheMethodsPrinted() {
        // Byte for byte what `lethe methods` printed when the presets were registered in Java.
        List<String> lines = List.of(
                "grad_ascent  gradient ascent on the forget set (no retain term) [forget=1.0*ga retain=none]",
                "grad_diff    gradient ascent on forget, descent on retain [forget=1.0*ga retain=1.0*nll]",
                "kl           gradient ascent on forget, KL to the ref_model on retain (TOFU's KL)"
                        + " [forget=1.0*ga retain=1.0*kl]",
                "npo          negative preference optimization against the ref_model, retain NLL"
                        + " [forget=1.0*npo retain=1.0*nll]",
                "npo+kl       NPO with a KL-to-ref_model retain term [forget=1.0*npo retain=1.0*kl]",
                "simnpo       reference-free NPO on length-normalized NLL, retain NLL"
                        + " [forget=0.125*simnpo retain=1.0*nll]",
                "dpo          DPO preferring a refusal over the forget answer, retain NLL"
                        + " [forget=1.0*dpo retain=1.0*nll]",
                "idk          fine-tune forget questions towards refusals, retain NLL [forget=1.0*idk retain=1.0*nll]",
                "me+gd        maximizing entropy on forget (closer-look), retain NLL [forget=0.1*me retain=1.0*nll]",
                "idk+ap       refusals on forget with answer preservation on retain (closer-look)"
                        + " [forget=1.0*idk retain=1.0*ap]",
                "rmu          steer a layer's forget activations to a random direction, keep retain activations"
                        + " [forget=1.0*rmu retain=1.0*embed_diff]",
                "undial       self-distillation towards ref_model logits with the answer token suppressed"
                        + " [forget=1.0*undial retain=none lr=1.0E-4]",
                "wga          weighted gradient ascent (confidence-weighted), retain NLL"
                        + " [forget=1.0*wga retain=1.0*nll]",
                "satimp       saturation-importance weighted ascent, retain NLL [forget=1.0*satimp retain=1.0*nll]",
                "ce_u         cross-entropy against the distribution without the true token, retain NLL"
                        + " [forget=1.0*ce_u retain=1.0*nll]",
                "llmu         gradient ascent with mismatched-answer and KL retain terms"
                        + " [forget=1.0*ga retain=1.0*mismatch+1.0*kl]");
        List<Methods.Method> all = Methods.all();
        assertEquals(lines.size(), all.size());
        for (int i = 0; i < lines.size(); i++) {
            assertEquals(lines.get(i), all.get(i).line());
        }
    }

    private static String parseError(String methods) {
        return assertThrows(IllegalArgumentException.class,
                () -> Methods.parse(ConfigFactory.parseString("methods = [" + methods + "]"))).getMessage();
    }

    private static final String OK = "forget = {term = ga, coeff = 1}, retain = [{term = nll, coeff = 1}]";

    @Test
    void badPresetDataIsRejectedNamingThePresetAndTheField() {
        assertEquals(List.of(new WeightedTerm("nll", 1)),
                Methods.parse(ConfigFactory.parseString("methods = [{name = a, description = d, " + OK + "}]"))
                        .get(0).retain());
        assertEquals("methods.conf: method 'a': forget.term 'nll' is not a forget loss term; known: ga, npo, simnpo,"
                + " dpo, idk, me, rmu, undial, wga, satimp, ce_u",
                parseError("{name = a, description = d, forget = {term = nll, coeff = 1}, retain = []}"));
        assertEquals("methods.conf: method 'a': retain[1].term 'ga' is not a retain loss term; known: none, nll, kl,"
                + " ap, embed_diff, mismatch", parseError("{name = a, description = d, forget = {term = ga, coeff = 1},"
                + " retain = [{term = nll, coeff = 1}, {term = ga, coeff = 1}]}"));
        assertEquals("methods.conf: method 'a': retain[0].coeff must be a finite number >= 0, got -0.5",
                parseError("{name = a, description = d, forget = {term = ga, coeff = 1},"
                        + " retain = [{term = nll, coeff = -0.5}]}"));
        assertEquals("methods.conf: method 'a': forget.coeff must be a finite number >= 0, got NaN",
                parseError("{name = a, description = d, forget = {term = ga, coeff = \"NaN\"}, retain = []}"));
        assertEquals("methods.conf: method 'a': description is empty",
                parseError("{name = a, description = \" \", " + OK + "}"));
        assertEquals("methods.conf: method 'a': unknown field 'defaults.epochs'; known: lr",
                parseError("{name = a, description = d, " + OK + ", defaults = {epochs = 3}}"));
        assertEquals("methods.conf: method 'a': defaults.lr must be a positive number, got 0.0",
                parseError("{name = a, description = d, " + OK + ", defaults = {lr = 0}}"));
        assertEquals("methods.conf: method 'a': unknown field 'retian'; known: defaults, description, forget, name,"
                + " retain", parseError("{name = a, description = d, " + OK + ", retian = []}"));
        assertEquals("methods.conf: method 'a': retain[1].term 'nll' appears twice",
                parseError("{name = a, description = d, forget = {term = ga, coeff = 1},"
                        + " retain = [{term = nll, coeff = 1}, {term = nll, coeff = 2}]}"));
        assertEquals("methods.conf: method 'a' appears twice (entries 1 and 2)",
                parseError("{name = a, description = d, " + OK + "}, {name = a, description = e, " + OK + "}"));
        String missing = parseError("{name = a, description = d, retain = []}");
        assertTrue(missing.startsWith("methods.conf: method 'a': ") && missing.contains("forget"), missing);
        String wrongType = parseError("{name = a, description = d, forget = {term = ga, coeff = one}, retain = []}");
        assertTrue(wrongType.startsWith("methods.conf: method 'a': forget: ") && wrongType.contains("coeff"),
                wrongType);
    }

    @Test
    void aWeightedTermNeedsANameAndAFiniteNonNegativeCoefficient() {
        assertEquals(0.0, new WeightedTerm("nll", 0).coeff());
        assertThrows(IllegalArgumentException.class, () -> new WeightedTerm("nll", -1));
        assertThrows(IllegalArgumentException.class, () -> new WeightedTerm("nll", Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new WeightedTerm("nll", Double.POSITIVE_INFINITY));
        assertThrows(IllegalArgumentException.class, () -> new WeightedTerm(" ", 1));
        assertThrows(IllegalArgumentException.class, () -> new WeightedTerm(null, 1));
    }
}
