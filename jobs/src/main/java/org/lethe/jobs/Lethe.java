package org.lethe.jobs;

import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.spark.SparkUserAppException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code lethe} command line: one subcommand per job or tool.
 *
 * <p>Usage: {@code lethe <command> [--conf FILE] [--set key=value]... [--run-id ID] ...}; {@code
 * lethe --help} lists the commands. stdout carries only the result; logs and errors go to stderr,
 * an error as the single line {@code lethe <command>: error: <message>}. Exit status: 0 on
 * success, 1 when the command fails, 2 for a usage error (1 under plain {@code java}, see {@link
 * #main}).
 */
@Command(name = "lethe", mixinStandardHelpOptions = true, versionProvider = Lethe.Version.class,
        subcommands = CommandLine.HelpCommand.class,
        description = {
                "Machine unlearning for large language models on Apache Spark.",
                "Results go to stdout; logs and errors go to stderr."})
public final class Lethe implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Lethe.class);

    @Spec
    private CommandSpec spec;

    /**
     * Every command of {@code lethe}, in the order {@code --help} lists them. Register new jobs
     * (generate, score, ...) here, each a {@link LetheCommand}.
     */
    static List<LetheCommand> commands() {
        return List.of(
                new DemoCommand(),
                new IngestCommand(),
                new FinetuneCommand(),
                new UnlearnCommand(),
                new EvaluateCommand(),
                new ImportEvalCommand(),
                new RelearnCommand(),
                new StatsCommand(),
                new RequestCommand(),
                new ContinualCommand(),
                new ReportCommand(),
                new MethodsCommand(),
                new InitModelCommand(),
                new GenerateBenchmarkCommand(),
                new GenerateCommand(),
                new ScoreCommand(),
                new ConfigCommand(),
                new SqlCommand(),
                new ConvertTablesCommand());
    }

    /**
     * Runs the CLI and exits with its status. There is no {@code System.exit} (it would cut short
     * Spark's shutdown, and must not run inside spark-submit's or a test's JVM): a failing status is
     * thrown as {@link SparkUserAppException}, which spark-submit turns into exactly that exit
     * status, and which under plain {@code java} ends main with status 1. The error line is already
     * on stderr, so the launcher's stack trace for it is silenced.
     */
    public static void main(String[] args) throws SparkUserAppException {
        int status = execute(args, System.out, System.err);
        if (status != 0) {
            Thread.currentThread().setUncaughtExceptionHandler((thread, e) -> { });
            throw new SparkUserAppException(status);
        }
    }

    /** Runs the CLI with {@code args}, printing to {@code out} and {@code err}; returns the exit status. */
    public static int execute(String[] args, PrintStream out, PrintStream err) {
        CommandLine cli = new CommandLine(new Lethe());
        for (LetheCommand command : commands()) {
            cli.addSubcommand(command);
        }
        // Set after adding the subcommands: picocli hands these to the subcommands present.
        PrintWriter outWriter = new PrintWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8), true);
        PrintWriter errWriter = new PrintWriter(new OutputStreamWriter(err, StandardCharsets.UTF_8), true);
        cli.setOut(outWriter);
        cli.setErr(errWriter);
        cli.setExecutionExceptionHandler(Lethe::onFailure);
        cli.setParameterExceptionHandler(Lethe::onUsageError);
        try {
            return cli.execute(args);
        } finally {
            outWriter.flush();
            errWriter.flush();
        }
    }

    /** {@code lethe} without a command. */
    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "no command given");
    }

    private static int onFailure(Exception e, CommandLine command, ParseResult parsed) {
        PrintWriter err = command.getErr();
        err.println(command.getCommandSpec().qualifiedName() + ": error: " + oneLine(e));
        if (verbose(parsed)) {
            e.printStackTrace(err);
        } else {
            LOG.debug("{} failed", command.getCommandSpec().qualifiedName(), e);
        }
        err.flush();
        return command.getCommandSpec().exitCodeOnExecutionException();
    }

    private static int onUsageError(ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        String name = command.getCommandSpec().qualifiedName();
        String hint = e instanceof UnmatchedArgumentException u && !u.getSuggestions().isEmpty()
                ? "; did you mean " + String.join(" or ", u.getSuggestions()) + "?"
                : "";
        PrintWriter err = command.getErr();
        err.println(name + ": error: " + oneLine(e) + hint + " (see '" + name + " --help')");
        err.flush();
        return command.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** The first line of the message: Spark appends query plans and stack fragments after it. */
    private static String oneLine(Exception e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return e.getClass().getName();
        }
        return message.strip().lines().findFirst().orElse("").strip();
    }

    private static boolean verbose(ParseResult parsed) {
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    /** The version from the jar manifest, when there is one. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Lethe.class.getPackage().getImplementationVersion();
            return new String[] {"lethe " + (version == null ? "(development build)" : version)};
        }
    }
}
