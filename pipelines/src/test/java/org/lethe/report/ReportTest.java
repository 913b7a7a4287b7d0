package org.lethe.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPath;
import javax.xml.xpath.XPathConstants;
import javax.xml.xpath.XPathFactory;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.lethe.config.LetheConfig;
import org.lethe.distributed.TrainSteps;
import org.lethe.eval.EvalTables;
import org.lethe.eval.EvalTables.Summary;
import org.lethe.report.ReportData.TrainCurve;
import org.lethe.store.RunRecord;
import org.lethe.store.Runs;
import org.lethe.store.TableStore;
import org.lethe.testing.TestSpark;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * A report of small hand-made tables: one scatter point per run at hand-computed pixels, a
 * trajectory through earlier steps, the run without forget quality listed with its reason, table
 * values and tooltips, loss curves binned on the executors, and no external reference.
 */
class ReportTest {

    @RegisterExtension
    static final TestSpark SPARK = new TestSpark();

    @TempDir
    static Path shared;
    private static TableStore store;

    private static final Instant T0 = Instant.parse("2026-01-02T03:04:05Z");
    private static final String ODD_REASON = "no retain run <given> & 'quoted' \"too\"";

    private static Summary value(String run, long step, String split, String metric, double v, long n, String retain) {
        return new Summary(run, step, "tofu", split, metric, v, n, retain, null, "x.y");
    }

    private static Summary missing(String run, long step, String split, String metric, String reason) {
        return new Summary(run, step, "tofu", split, metric, null, 0, null, reason, "x.y");
    }

    /** retain (step 0, FQ 1 against itself), npo (steps 5 and 10), target (no forget quality). */
    @BeforeAll
    static void tables() {
        store = new TableStore(SPARK.session(), shared.resolve("root").toString());
        List<Summary> rows = new ArrayList<>(List.of(
                value("retain", 0, "forget", "forget_quality", 1.0, 40, "retain"),
                value("retain", 0, null, "model_utility", 0.6, 9, null),
                value("retain", 0, "forget", "forget_probability", 0.25, 40, null),
                value("npo", 5, "forget", "forget_quality", 1e-3, 40, "retain"),
                value("npo", 5, null, "model_utility", 0.58, 9, null),
                value("npo", 5, "forget", "forget_probability", 0.5, 40, null),
                value("npo", 10, "forget", "forget_quality", 3e-7, 40, "retain"),
                value("npo", 10, null, "model_utility", 0.5, 9, null),
                value("npo", 10, "forget", "forget_probability", 0.125, 40, null),
                value("npo", 10, "forget", "forget_rouge_l_recall", 0.31234, 40, null),
                value("npo", 10, "retain", "retain_probability", 0.87654, 400, null),
                value("npo", 10, null, "privleak", -12.3456, 80, "retain"),
                value("npo", 10, "forget", "forget_efficacy", 0.75, 3, null),
                missing("npo", 10, "forget", "forget_truth_ratio", "irrelevant here"),
                value("npo", 10, "forget", "forget_mean_nll", 9.0, 40, null),   // not reported
                missing("target", 0, "forget", "forget_quality", ODD_REASON),
                value("target", 0, null, "model_utility", 0.55, 9, null)));
        EvalTables.writeSummary(store, EvalTables.summaries(SPARK.session(), rows));

        List<Row> steps = new ArrayList<>();
        for (long s = 1; s <= 10; s++) {
            steps.add(RowFactory.create("npo", s, 0, 3.0 - 0.1 * s, 1e-5, 1.0, 100L, 0.5, "unlearn", 2.0 - 0.1 * s,
                    s == 3 ? null : 1.0, Map.of("npo", 2.0 - 0.1 * s), 0.4));
        }
        // 1,000 steps: bins of ceil(1000 / 400) = 3 steps
        for (long s = 1; s <= 1000; s++) {
            steps.add(RowFactory.create("target", s, 0, 10.0 / s, 1e-4, 1.0, 100L, 0.5, "finetune", null, null, null, null));
        }
        store.write("train_steps", SPARK.session().createDataFrame(steps, TrainSteps.SCHEMA));

        Runs runs = new Runs(store);
        String npoConfig = LetheConfig.load(Optional.empty(), List.of("unlearn.method=npo")).toJson();
        String defaults = LetheConfig.defaults().toJson();
        runs.record(RunRecord.started("npo", "unlearn", npoConfig, "sha", "dev", null, T0).succeeded(T0.plusSeconds(60)));
        runs.record(RunRecord.started("npo", "evaluate", defaults, "sha", "dev", null, T0.plusSeconds(120))
                .succeeded(T0.plusSeconds(180)));
        runs.record(RunRecord.started("target", "finetune", defaults, "sha", "dev", null, T0)
                .failed(T0.plusSeconds(5), "boom"));
    }

    private static Document parse(String html) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        return factory.newDocumentBuilder().parse(new ByteArrayInputStream(html.getBytes(StandardCharsets.UTF_8)));
    }

    private static List<Element> all(Document doc, String xpath) throws Exception {
        XPath x = XPathFactory.newInstance().newXPath();
        NodeList nodes = (NodeList) x.evaluate(xpath, doc, XPathConstants.NODESET);
        List<Element> out = new ArrayList<>();
        for (int i = 0; i < nodes.getLength(); i++) {
            out.add((Element) nodes.item(i));
        }
        return out;
    }

    private static String xpathText(Document doc, String xpath) throws Exception {
        return XPathFactory.newInstance().newXPath().evaluate(xpath, doc);
    }

    @Test
    void reportOfSmallTables(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("reports").resolve("report.html");
        Report.Result result = Report.write(store, out, T0);
        assertEquals(3, result.runs());
        assertEquals(2, result.plotted());
        assertEquals(1, result.notPlotted());
        assertEquals(2, result.trainCurves());
        String html = Files.readString(out, StandardCharsets.UTF_8);
        assertEquals(html.getBytes(StandardCharsets.UTF_8).length, result.bytes());
        // Written by rename: nothing else is left beside it
        try (Stream<Path> files = Files.list(out.getParent())) {
            assertEquals(List.of(out), files.toList());
        }
        Document doc = parse(html);   // well-formed: every table text went through escaping

        // The scatter: one large marker per plotted run at its latest step, computed by hand.
        // x: utilities 0.5..0.6 padded to [0.495, 0.605], step 0.02 -> [0.48, 0.62] over pixels 90..710.
        // y: forget quality down to 3e-7 -> decades -7..0, labelled every 2 -> 1e-8..1 over pixels 410..30.
        List<Element> points = all(doc, "//section[@id='scatter']//*[local-name()='circle'][@class='pt']");
        assertEquals(2, points.size());
        Element npo = (Element) points.get(0).getParentNode();
        assertEquals("npo", npo.getAttribute("data-run"));
        assertEquals("178.57", points.get(0).getAttribute("cx"));   // 90 + (0.5 - 0.48) / 0.14 * 620
        assertEquals("339.84", points.get(0).getAttribute("cy"));   // 410 - (log10(3e-7) + 8) / 8 * 380
        assertEquals("#4e79a7", points.get(0).getAttribute("fill"));  // npo sorts first
        assertEquals("retain", ((Element) points.get(1).getParentNode()).getAttribute("data-run"));
        assertEquals("621.43", points.get(1).getAttribute("cx"));   // 90 + 0.12 / 0.14 * 620
        assertEquals("30", points.get(1).getAttribute("cy"));       // forget quality 1: the top
        // npo's step 5 as a small marker and the line through both steps
        List<Element> earlier = all(doc, "//section[@id='scatter']//*[local-name()='circle'][@class='pt-step']");
        assertEquals(1, earlier.size());
        assertEquals("532.86", earlier.get(0).getAttribute("cx"));  // 0.58
        assertEquals("172.5", earlier.get(0).getAttribute("cy"));   // 1e-3: 5 of 8 decades up
        assertEquals("532.86,172.5 178.57,339.84",
                all(doc, "//section[@id='scatter']//*[local-name()='polyline']").get(0).getAttribute("points"));
        String npoTip = xpathText(doc, "//*[local-name()='g'][@data-run='npo']/*[local-name()='circle'][@class='pt']");
        assertTrue(npoTip.contains("forget quality 3.00e-07 (n = 40, vs retain)"), npoTip);
        List<String> labels = all(doc, "//section[@id='scatter']//*[local-name()='text'][@class='label']").stream()
                .map(Element::getTextContent).toList();
        assertEquals(List.of("retain", "npo"), labels);   // placed top to bottom

        // target has no forget quality: listed under the chart with its reason, not plotted
        List<Element> missing = all(doc, "//ul[@class='missing']/li");
        assertEquals(1, missing.size());
        assertEquals("target step 0: forget quality: " + ODD_REASON, missing.get(0).getTextContent());

        // The table: one row per run at its latest step
        List<Element> rows = all(doc, "//section[@id='summary']//tbody/tr");
        assertEquals(List.of("npo", "retain", "target"), rows.stream().map(r -> r.getAttribute("data-run")).toList());
        List<String> npoCells = cells(rows.get(0));
        assertEquals(List.of("npo", "unlearn (npo), evaluate", "tofu", "10", "3.00e-07", "0.5000", "0.3123", "0.1250",
                "0.8765", "-12.35", "0.7500", "40"), npoCells);
        Element npoFq = (Element) rows.get(0).getElementsByTagName("td").item(4);
        assertEquals("n = 40 · vs retain run retain", npoFq.getAttribute("title"));
        List<String> targetCells = cells(rows.get(2));
        assertEquals(List.of("target", "finetune [FAILED]", "tofu", "0", "—", "0.5500", "—", "—", "—", "—", "—",
                "—"), targetCells);
        Element targetFq = (Element) rows.get(2).getElementsByTagName("td").item(4);
        assertEquals(ODD_REASON, targetFq.getAttribute("title"));   // the raw text, unescaped by the parser
        assertTrue(html.contains("title=\"no retain run &lt;given&gt; &amp; &#39;quoted&#39; &quot;too&quot;\""));
        Element targetRouge = (Element) rows.get(2).getElementsByTagName("td").item(6);
        assertEquals("no forget_rouge_l_recall row in eval_summary", targetRouge.getAttribute("title"));

        // Training: the finetune chart and one small chart per unlearn run; curves over steps for npo only
        assertEquals(1, all(doc, "//section[@id='training']//*[local-name()='g'][@data-run='target']").size());
        // npo: total, forget and retain (retain has a NULL at step 3, still a line)
        assertEquals(3, all(doc, "//section[@id='training']//*[local-name()='g'][@data-run='npo']"
                + "/*[local-name()='polyline']").size());
        assertEquals(3, all(doc, "//section[@id='curves']//*[local-name()='g'][@data-run='npo']").size());
        assertEquals(0, all(doc, "//section[@id='curves']//*[local-name()='g'][@data-run='retain']").size());

        // Self-contained: no scripts, no stylesheets or images from elsewhere, no URL at all
        for (String forbidden : List.of("<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import",
                "http:", "https:", "//fonts")) {
            assertFalse(html.contains(forbidden), forbidden);
        }
        assertTrue(html.contains("generated 2026-01-02T03:04:05Z"));

        // Replaced atomically on a second write
        Report.write(store, out, T0.plusSeconds(1));
        assertTrue(Files.readString(out).contains("generated 2026-01-02T03:04:06Z"));
        try (Stream<Path> files = Files.list(out.getParent())) {
            assertEquals(1, files.count());
        }
    }

    private static List<String> cells(Element row) {
        List<String> out = new ArrayList<>();
        NodeList tds = row.getElementsByTagName("td");
        for (int i = 0; i < tds.getLength(); i++) {
            out.add(tds.item(i).getTextContent());
        }
        return out;
    }

    @Test
    void trainStepsAreBinnedOnTheExecutors() {
        ReportData data = Report.load(store);
        TrainCurve target = data.train().stream().filter(c -> c.runId().equals("target")).findFirst().orElseThrow();
        assertEquals("finetune", target.job());
        assertEquals(1000, target.steps());
        assertEquals(3, target.binWidth());
        assertEquals(334, target.points().size());   // steps 1-3, 4-6, ..., 997-999, 1000
        assertEquals(2.0, target.points().get(0).step(), 1e-12);
        assertEquals((10.0 + 5.0 + 10.0 / 3) / 3, target.points().get(0).loss(), 1e-12);
        assertEquals(1000.0, target.points().get(333).step(), 1e-12);
        assertNull(target.points().get(0).forgetLoss());
        TrainCurve npo = data.train().stream().filter(c -> c.runId().equals("npo")).findFirst().orElseThrow();
        assertEquals(1, npo.binWidth());
        assertEquals(10, npo.points().size());
        assertNull(npo.points().get(2).retainLoss());   // step 3
        assertEquals(1.0, npo.points().get(3).retainLoss(), 0);
        assertEquals(List.of("unlearn (npo)", "evaluate"), data.runs().get("npo").jobs());
        // Only the reported metrics reach the driver
        assertFalse(data.evals().stream().anyMatch(e -> e.metrics().containsKey("forget_mean_nll")));
        assertEquals(4, data.evals().size());   // npo@5, npo@10, retain@0, target@0
    }

    @Test
    void aRootWithoutEvalSummaryNamesTheRootAndTheCommands(@TempDir Path tmp) {
        TableStore empty = new TableStore(SPARK.session(), tmp.toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Report.write(empty, tmp.resolve("r.html"), T0));
        assertEquals("no eval_summary table under " + empty.root() + ": evaluate a model first (lethe evaluate) or"
                + " import an evaluation log (lethe import-eval)", e.getMessage());
        assertFalse(Files.exists(tmp.resolve("r.html")));
    }

    @Test
    void runsWithoutTrainStepsOrRunsRowsStillRender(@TempDir Path tmp) throws Exception {
        TableStore alone = new TableStore(SPARK.session(), tmp.resolve("root").toString());
        EvalTables.writeSummary(alone, EvalTables.summaries(SPARK.session(), List.of(
                value("only", 0, "forget", "forget_quality", 0.0, 40, "r"),
                value("only", 0, null, "model_utility", 0.4, 9, null))));
        Path out = tmp.resolve("r.html");
        Report.Result result = Report.write(alone, out, T0);
        assertEquals(1, result.plotted());
        Document doc = parse(Files.readString(out));
        // Forget quality 0 cannot sit on a log axis: a hollow marker on the floor (1e-2 .. 1 over 410 .. 30)
        Element pt = all(doc, "//*[local-name()='circle'][@class='pt']").get(0);
        assertEquals("410", pt.getAttribute("cy"));
        assertEquals("white", pt.getAttribute("fill"));
        assertTrue(xpathText(doc, "//section[@id='training']").contains("No train_steps table"));
        assertTrue(xpathText(doc, "//section[@id='curves']").contains("No run has more than one evaluated step"));
    }
}
