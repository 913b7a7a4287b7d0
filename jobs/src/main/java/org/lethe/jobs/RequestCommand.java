package org.lethe.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import org.lethe.config.LetheConfig;
import org.lethe.continual.ContinualRequest;
import org.lethe.continual.ForgetSelector;
import org.lethe.continual.Requests;
import org.lethe.store.TableStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code lethe request}: submits one unlearning request to the {@code requests} table. */
@Command(name = "request", mixinStandardHelpOptions = true,
    description = {
        "Submit an unlearning request for lethe continual: what to forget (--forget split:NAME,",
        "authors:ID,ID,... or samples:ID,ID,...) of the dataset lethe.continual.dataset, with which method",
        "(lethe methods); its --set unlearn.* and lora.* overrides are stored with it (resolved, as",
        "key=<JSON value>) and applied to that request only (other --set keys, e.g. lethe.continual.*,",
        "configure this command). A request may set its method's settings and schedule, not outputs,",
        "models, data or resume, and no ${...} or include. The method, the overrides (against",
        "lethe.continual.model when set) and the selection (it must select samples) are checked now.",
        "--run-id is the request id (default: req-<time>-<hash>). Prints the request as JSON.",
        "--cancel ID cancels a PENDING or FAILED request instead (CANCELLED: no run takes it)."})
public final class RequestCommand extends LetheCommand {

    @Option(names = "--root", paramLabel = "ROOT", description = "Table root directory or URI (default: lethe.store.root).")
    private String root;

    @Option(names = "--forget", paramLabel = "SELECTOR",
            description = "split:NAME | authors:ID,ID,... | samples:ID,ID,... (required unless --cancel)")
    private String forget;

    @Option(names = "--method", paramLabel = "NAME", description = "The unlearning method (required unless --cancel).")
    private String method;

    @Option(names = "--cancel", paramLabel = "REQUEST_ID",
            description = "Cancel this request instead (PENDING or FAILED: no continual run takes it any more).")
    private String cancel;

    @Option(names = "--submitted-at", paramLabel = "INSTANT",
            description = "Submission time, ISO-8601 UTC (e.g. 2026-11-23T08:00:00Z); default now (backfills).")
    private String submittedAt;

    /** {@code unlearn.*} and {@code lora.*} overrides (with or without the {@code lethe.} prefix) belong to the request. */
    static boolean requestSetting(String set) {
        String key = set.startsWith("lethe.") ? set.substring("lethe.".length()) : set;
        return key.startsWith("unlearn.") || key.startsWith("lora.");
    }

    @Override
    protected void run(LetheConfig config) {
        if (cancel != null) {
            if (forget != null || method != null || submittedAt != null) {
                throw new ParameterException(spec.commandLine(), "--cancel takes no --forget, --method or --submitted-at");
            }
            cancel(config);
            return;
        }
        if (forget == null || method == null) {
            throw new ParameterException(spec.commandLine(), "Missing required option"
                    + (forget == null ? " '--forget=SELECTOR'" : "") + (method == null ? " '--method=NAME'" : "")
                    + " (or --cancel REQUEST_ID)");
        }
        ForgetSelector selector;
        try {
            selector = ForgetSelector.parse(forget);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        Instant at;
        try {
            at = submittedAt == null ? Instant.now() : Instant.parse(submittedAt);
        } catch (DateTimeParseException e) {
            throw new ParameterException(spec.commandLine(), "--submitted-at: expected an ISO-8601 instant such as"
                    + " 2026-11-23T08:00:00Z, got '" + submittedAt + "'");
        }
        // The request's own settings; other keys (continual.dataset, the table root ...) configure this command.
        List<String> given = options.sets().stream().filter(RequestCommand::requestSetting).toList();
        ContinualRequest.Submission submission = ContinualRequest.Submission.of(config, method, given);
        List<String> overrides = submission.overrides(); // resolved: key=<JSON value>
        String id = options.runId().orElseGet(() -> Requests.newId(at, selector, method, overrides));
        String tableRoot = tableRoot(root, config);
        try (EmbeddedSpark spark = EmbeddedSpark.start(config)) {
            TableStore store = new TableStore(spark.session(), tableRoot);
            Requests requests = new Requests(spark.session(), store);
            Requests.Request r = Requests.Request.submitted(id, at, submission.data().dataset(), selector, method,
                    overrides);
            long selected = requests.submit(r, submission.data());
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("request_id", r.requestId());
            o.put("submitted_at", r.submittedAt().toString());
            o.put("dataset", submission.data().dataset());
            o.put("selector", selector.text());
            o.put("method", method);
            o.putPOJO("overrides", overrides);
            o.put("samples", selected);
            o.put("status", r.status().name());
            out().println(o.toString());
        }
    }

    private void cancel(LetheConfig config) {
        org.lethe.store.RunIds.validate(cancel, "request id");
        try (EmbeddedSpark spark = EmbeddedSpark.start(config)) {
            Requests requests = new Requests(spark.session(), new TableStore(spark.session(), tableRoot(root, config)));
            Requests.Request r = requests.cancel(cancel, Instant.now());
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("request_id", r.requestId());
            o.put("status", r.status().name());
            o.put("updated_at", r.updatedAt().toString());
            o.put("attempts", r.attempts());
            out().println(o.toString());
        }
    }
}
