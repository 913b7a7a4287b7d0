package org.lethe.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.testing.Fixtures;
import org.lethe.testing.TestSpark;

/**
 * {@code lethe report} end to end on TOFU's Llama-2-7b logs imported with {@code import-eval}: the
 * full model's point where TOFU puts it, the retain model listed as not plotted, the published
 * numbers in the table; a root without eval_summary is an error naming it.
 */
class ReportCommandTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    private static final Pattern POINT = Pattern.compile(
            "<g class=\"series\" data-run=\"([^\"]+)\">.*?<circle class=\"pt\" cx=\"([^\"]+)\" cy=\"([^\"]+)\"");

    @Test
    void reportOfTofusPublishedLogs(@TempDir Path tmp) throws Exception {
        Path dir = Fixtures.root().resolve("tofu").resolve("eval_logs_llama2_7b");
        Assumptions.assumeTrue(Files.isDirectory(dir), dir + " not found: skipping");
        String root = tmp.resolve("root").toString();
        String retain = dir.resolve("ft_epoch5_lr1e-05_llama2-7b_retain90_wd0.01__eval_log_aggregated.json").toString();
        String full = dir.resolve("ft_epoch5_lr1e-05_llama2-7b_full_wd0.01__eval_log_aggregated.json").toString();
        Cli r90 = Cli.run("import-eval", "--format", "tofu-log", "--input", retain, "--root", root,
                "--run-id", "tofu_retain90", "--forget-split", "forget10");
        assertEquals(0, r90.status(), r90.err());
        Cli fullRun = Cli.run("import-eval", "--format", "tofu-log", "--input", full, "--root", root,
                "--run-id", "tofu_full", "--forget-split", "forget10", "--retain-run", "tofu_retain90");
        assertEquals(0, fullRun.status(), fullRun.err());

        Path out = tmp.resolve("report.html");
        Cli report = Cli.run("report", "--root", root, "--out", out.toString());
        assertEquals(0, report.status(), report.err());
        JsonNode result = new ObjectMapper().readTree(report.out());
        assertEquals(out.toString(), result.get("out").asText());
        assertEquals(2, result.get("runs").asInt());
        assertEquals(1, result.get("plotted").asInt());
        assertEquals(1, result.get("not_plotted").asInt());
        assertEquals(0, result.get("train_curves").asInt());
        String html = Files.readString(out, StandardCharsets.UTF_8);
        assertEquals(Files.size(out), result.get("bytes").asLong());

        // One point: tofu_full, forget quality 1.83e-21 at model utility 0.6227.
        // x: one utility, widened by 10% to [0.5604, 0.6850]; step 0.0249 -> 0.02: [0.56, 0.70] over 90..710 px,
        //    90 + (0.6227 - 0.56) / 0.14 * 620 = 367.7 (+-0.5 for the 4-digit utility)
        // y: 1.83e-21 .. 1 in decades labelled every 5: 1e-25 .. 1 over 410..30 px, 15.2 px per decade,
        //    410 - (25 + log10(1.834e-21)) * 15.2 = 410 - 4.2634 * 15.2 = 345.2
        Matcher m = POINT.matcher(html);
        assertTrue(m.find(), html);
        assertEquals("tofu_full", m.group(1));
        assertEquals(367.7, Double.parseDouble(m.group(2)), 0.5);
        assertEquals(345.2, Double.parseDouble(m.group(3)), 0.2);
        assertFalse(m.find(), "one point only");
        for (String label : List.of(">10⁻²⁵<", ">10⁻²⁰<", ">10⁻⁵<", ">1<", ">0.56<", ">0.70<")) {
            assertTrue(html.contains(label), label);
        }
        // The retain model has no forget quality of its own: listed with the reason
        assertTrue(html.contains("<code>tofu_retain90</code> step 0: forget quality: no retain run given</li>"), html);

        // The table: TOFU's numbers at step 0, NULL as a dash with the reason
        assertTrue(Pattern.compile("<tr data-run=\"tofu_full\">.*?<td class=\"num\">0</td>"
                + "<td class=\"num\" title=\"n = \\d+ · vs retain run tofu_retain90\">1.83e-21</td>"
                + "<td class=\"num\" title=\"n = 9\">0.6227</td>").matcher(html).find(), html);
        assertTrue(Pattern.compile("<tr data-run=\"tofu_retain90\">.*?"
                + "<td class=\"num missing\" title=\"no retain run given\">—</td>"
                + "<td class=\"num\" title=\"n = 9\">0.6137</td>").matcher(html).find(), html);
        assertTrue(html.contains("<td><span class=\"job\">import-eval</span></td>"), html);
        assertFalse(html.contains("http"), "no external reference");
        assertFalse(html.contains("<script"));
    }

    @Test
    void aRootWithoutEvalSummaryIsAnError(@TempDir Path tmp) {
        Cli report = Cli.run("report", "--root", tmp.toString(), "--out", tmp.resolve("r.html").toString());
        assertEquals(1, report.status());
        assertEquals("lethe report: error: no eval_summary table under file:" + tmp + ": evaluate a model first"
                + " (lethe evaluate) or import an evaluation log (lethe import-eval)\n", report.err());
        assertEquals("", report.out());
        assertFalse(Files.exists(tmp.resolve("r.html")));

        Cli noOut = Cli.run("report", "--root", tmp.toString());
        assertEquals(2, noOut.status());
        assertTrue(noOut.err().startsWith("lethe report: error: Missing required option: '--out=FILE'"), noOut.err());
    }
}
