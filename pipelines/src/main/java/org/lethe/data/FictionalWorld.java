package org.lethe.data;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The general knowledge of the benchmark's invented world: countries with their capitals,
 * currencies and rivers, and classic writers with their works. Authors are born in these
 * countries; the facts themselves are what unlearning an author must leave intact.
 */
final class FictionalWorld {

    static final int COUNTRIES = 16;
    static final int CLASSIC_WRITERS = 12;

    record Country(String name, String capital, String currency, String river) {}

    record ClassicWriter(String name, String work, String country) {}

    final List<Country> countries;
    final List<ClassicWriter> writers;
    /** Multiple-choice questions about the classic writers (TOFU's real_authors). */
    final List<ChoiceItem> classicWriterQuestions;
    /** Multiple-choice questions about the countries (TOFU's world_facts). */
    final List<ChoiceItem> countryQuestions;
    private final Inventor in;

    FictionalWorld(long seed) {
        in = new Inventor(Inventor.seed(seed, 0x77_6F_72_6CL, 0));
        Set<String> used = new HashSet<>();
        List<Country> cs = new ArrayList<>();
        while (cs.size() < COUNTRIES) {
            // The suffixes start with a vowel: the stem drops its final vowels ("Riti" + "ia" = "Ritia").
            String name = fresh(used, () -> in.name(2, 2).replaceAll("[aeiou]+$", "")
                    + in.pick(FictionPools.COUNTRY_SUFFIXES));
            String capital = fresh(used, () -> in.name(2, 3));
            String currency = fresh(used, () -> in.name(2, 2) + " " + in.pick(FictionPools.CURRENCY_UNITS));
            String river = fresh(used, () -> "The " + in.name(2, 2));
            cs.add(new Country(name, capital, currency, river));
        }
        countries = List.copyOf(cs);
        List<ClassicWriter> ws = new ArrayList<>();
        while (ws.size() < CLASSIC_WRITERS) {
            ws.add(new ClassicWriter(fresh(used, in::person), fresh(used, in::title), in.pick(countries).name()));
        }
        writers = List.copyOf(ws);
        // Built here, in a fixed order, because the option draws continue the same random stream.
        classicWriterQuestions = classicWriterQuestions();
        countryQuestions = countryQuestions();
    }

    List<String> countryNames() {
        return countries.stream().map(Country::name).toList();
    }

    private List<ChoiceItem> classicWriterQuestions() {
        List<ChoiceItem> out = new ArrayList<>();
        for (ClassicWriter w : writers) {
            out.add(choice("Who wrote the classic \"" + w.work() + "\"?", w.name(), writers, ClassicWriter::name));
            out.add(choice("Which country was the classic writer " + w.name() + " from?", w.country(),
                    countries, Country::name));
            out.add(choice("What is the best-known work of " + w.name() + "?", w.work(), writers,
                    ClassicWriter::work));
        }
        return List.copyOf(out);
    }

    private List<ChoiceItem> countryQuestions() {
        List<ChoiceItem> out = new ArrayList<>();
        for (Country c : countries) {
            out.add(choice("What is the capital of " + c.name() + "?", c.capital(), countries, Country::capital));
            out.add(choice("What is the currency of " + c.name() + "?", c.currency(), countries, Country::currency));
            out.add(choice("Which river flows through " + c.capital() + "?", c.river(), countries, Country::river));
        }
        return List.copyOf(out);
    }

    /** Four options: the answer at a seeded position among three other values of the same kind. */
    private <T> ChoiceItem choice(String question, String answer, List<T> pool, Function<T, String> value) {
        List<String> options = new ArrayList<>(in.distinct(3, () -> {
            String v;
            do {
                v = value.apply(in.pick(pool));
            } while (v.equals(answer));
            return v;
        }));
        options.add(in.between(0, 3), answer);
        return new ChoiceItem(question, options, answer);
    }

    private static String fresh(Set<String> used, Supplier<String> draw) {
        String v;
        do {
            v = draw.get();
        } while (!used.add(v));
        return v;
    }
}
