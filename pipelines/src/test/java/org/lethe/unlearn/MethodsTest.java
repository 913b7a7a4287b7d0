package org.lethe.unlearn;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The method presets: every name of the issue, each resolvable into registered loss terms. */
class MethodsTest {

    @Test
    void everyPresetResolvesToRegisteredTerms() {
        List<String> names = Methods.all().stream().map(Methods.Method::name).toList();
        assertEquals(List.of("grad_ascent", "grad_diff", "kl", "npo", "npo+kl", "simnpo", "dpo", "idk", "me+gd",
                "idk+ap", "rmu", "undial", "wga", "satimp", "ce_u", "llmu"), names);
        for (Methods.Method m : Methods.all()) {
            Objective o = m.objective();
            assertEquals(m.forgetTerm(), o.forget().name());
            assertEquals(m.retain().size(), o.retain().size());
            assertTrue(m.line().startsWith(m.name() + " "), m.line());
        }
        assertEquals("nll", Methods.get("grad_diff").retain().get(0).term());
        assertEquals(0.1, Methods.get("me+gd").forgetCoeff());
        assertEquals(List.of(new Methods.RetainPart("mismatch", 1), new Methods.RetainPart("kl", 1)),
                Methods.get("llmu").retain());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Methods.get("gd"));
        assertTrue(e.getMessage().contains("'gd'") && e.getMessage().contains("grad_diff"), e.getMessage());
    }
}
