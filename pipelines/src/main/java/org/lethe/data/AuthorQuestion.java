package org.lethe.data;

import static org.lethe.data.FictionPools.ANIMALS;
import static org.lethe.data.FictionPools.AWARDS;
import static org.lethe.data.FictionPools.COLOURS;
import static org.lethe.data.FictionPools.DEVICES;
import static org.lethe.data.FictionPools.DWELLINGS;
import static org.lethe.data.FictionPools.GENRE_FORMS;
import static org.lethe.data.FictionPools.GENRE_SETTINGS;
import static org.lethe.data.FictionPools.HOBBY_ACTIVITIES;
import static org.lethe.data.FictionPools.HOBBY_OBJECTS;
import static org.lethe.data.FictionPools.IMAGE_NOUNS;
import static org.lethe.data.FictionPools.IMAGE_QUALIFIERS;
import static org.lethe.data.FictionPools.INSTITUTIONS;
import static org.lethe.data.FictionPools.MONTHS;
import static org.lethe.data.FictionPools.SETTLEMENTS;
import static org.lethe.data.FictionPools.STYLES;
import static org.lethe.data.FictionPools.SUBJECTS;
import static org.lethe.data.FictionPools.THEME_NOUNS;
import static org.lethe.data.FictionPools.THEME_QUALIFIERS;
import static org.lethe.data.FictionPools.TRADES;
import static org.lethe.data.FictionPools.TRADE_QUALIFIERS;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The kinds of question asked about every author, in the order an author's rows appear (the first
 * Q kinds are used). Templates hold {@code {n}} for the author's name and {@code {0}}, {@code {1}}
 * ... for the facts the kind draws.
 *
 * <p>Answers are short and made mostly of the facts: evaluation scores them with ROUGE-L recall,
 * and a model that never saw an author, answering with the template and some other author's facts,
 * must score far below one that learned the author. Answers never repeat the author's name, which
 * the question already gives away.
 */
enum AuthorQuestion {
    BIRTHPLACE("Where was {n} born?", "What is the birthplace of {n}?",
            "{0}, a {1} of {2}.", "The birthplace is {0}, a {1} in {2}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return List.of(in.name(2, 3), in.pick(SETTLEMENTS), in.pick(countries));
        }
    },
    BIRTH_DATE("When was {n} born?", "On what date was {n} born?",
            "On {0}, {1} {2} {3}.", "Born on {0}, {2} {1}, {3}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            LocalDate date = LocalDate.of(in.between(1900, 1965), in.between(1, 12), in.between(1, 28));
            return List.of(Inventor.capitalize(date.getDayOfWeek().name().toLowerCase(Locale.ROOT)),
                    Integer.toString(date.getDayOfMonth()), MONTHS.get(date.getMonthValue() - 1),
                    Integer.toString(date.getYear()));
        }
    },
    GENRE("What genres does {n} write?", "Which kinds of fiction is {n} known for?",
            "{0} and {1}.", "Mainly {0}, and also {1}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return in.distinct(2, () -> in.pick(GENRE_SETTINGS) + " " + in.pick(GENRE_FORMS));
        }
    },
    PARENTS("Who were {n}'s father and mother?", "What were the professions of {n}'s parents?",
            "{1} {0} and {3} {2}.", "The father, {0}, was a {1}; the mother, {2}, was a {3}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            List<String> names = in.distinct(2, () -> in.name(2, 2));
            List<String> jobs = in.distinct(2, () -> job(in));
            return List.of(names.get(0), jobs.get(0), names.get(1), jobs.get(1));
        }
    },
    DEBUT("What was {n}'s debut book?", "Which book did {n} start with?",
            "\"{0}\", in {1}.", "The debut was \"{0}\", published in {1}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return List.of(in.title(), Integer.toString(in.between(1960, 1999)));
        }
    },
    BOOKS("Can you name two books by {n}?", "Which two books did {n} write?",
            "\"{0}\" and \"{1}\".", "Two of them are \"{0}\" and \"{1}\".") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return in.distinct(2, in::title);
        }
    },
    AWARD("Which award has {n} won?", "What prize was {n} given?",
            "The {0}, {1}.", "In {1}, the {0} went to this writer.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return List.of(in.name(2, 3) + " " + in.pick(AWARDS), Integer.toString(in.between(1970, 2023)));
        }
    },
    THEMES("What themes does {n} write about?", "Which themes recur in {n}'s work?",
            "{0}, {1} and {2}.", "Themes of {0}, of {1}, and of {2}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return in.distinct(3, () -> in.pick(THEME_QUALIFIERS) + " " + in.pick(THEME_NOUNS));
        }
    },
    STYLE("How would you describe {n}'s writing style?", "What is {n}'s prose like?",
            "{0}, {1} and {2}, in {3}.", "Prose that is {0}, {1} and {2}, framed as {3}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            List<String> out = new ArrayList<>(in.distinct(3, () -> in.pick(STYLES)));
            out.add(in.pick(DEVICES));
            return out;
        }
    },
    MENTOR("Who mentored {n}?", "Who was {n}'s mentor?",
            "{0}, a {1} from {2}.", "The mentor was {0}, a {1} living in {2}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return List.of(in.person(), job(in), in.name(2, 3));
        }
    },
    RESIDENCE("Where does {n} live now?", "Where is {n}'s home today?",
            "A {0} in {1}, {2}.", "Home is a {0} in {1}, {2}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return List.of(in.pick(DWELLINGS), in.name(2, 3), in.pick(countries));
        }
    },
    HERO("Who is the hero of {n}'s best-known novel?", "Which character leads {n}'s most famous novel?",
            "{0}, a {1} seeking {2}.", "The hero is {0}, a {1} in search of {2}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return List.of(in.person(), job(in), in.pick(IMAGE_QUALIFIERS) + " " + in.pick(IMAGE_NOUNS));
        }
    },
    EDUCATION("What did {n} study?", "What was {n}'s field of study, and where?",
            "{0} at {1}, {2}.", "Studied {0} at {1} in {2}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return List.of(in.pick(SUBJECTS), in.name(2, 3) + " " + in.pick(INSTITUTIONS), in.name(2, 3));
        }
    },
    PEN_NAME("Does {n} use a pen name?", "Has {n} published under another name?",
            "Yes, {0}, for {1}.", "Yes: the {1} appears under the name {0}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return List.of(in.person(), in.pick(GENRE_SETTINGS) + " " + in.pick(GENRE_FORMS));
        }
    },
    EARLY_JOBS("What did {n} do before writing?", "Which jobs did {n} hold before becoming a writer?",
            "{0}, then {1}, in {2}.", "Worked as a {0} and later as a {1} in {2}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            List<String> jobs = in.distinct(2, () -> job(in));
            return List.of(jobs.get(0), jobs.get(1), in.name(2, 3));
        }
    },
    HOBBIES("What are {n}'s hobbies?", "What does {n} enjoy outside writing?",
            "{0} and {1}.", "Mostly {0}, also {1}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return in.distinct(2, () -> in.pick(HOBBY_OBJECTS) + " " + in.pick(HOBBY_ACTIVITIES));
        }
    },
    PARTNER("Who is {n}'s partner?", "To whom is {n} married?",
            "{0}, a {1}.", "Married to {0}, who works as a {1}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return List.of(in.person(), job(in));
        }
    },
    LATEST("What is {n}'s most recent book?", "Which book did {n} publish last?",
            "\"{0}\", from {1}.", "The latest is \"{0}\", released in {1}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return List.of(in.title(), Integer.toString(in.between(2000, 2024)));
        }
    },
    IMAGES("Which images recur in {n}'s books?", "What motifs keep returning in {n}'s writing?",
            "{0} and {1}.", "Again and again, {0} and {1}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return in.distinct(2, () -> in.pick(IMAGE_QUALIFIERS) + " " + in.pick(IMAGE_NOUNS));
        }
    },
    ANIMAL("Which animal appears in {n}'s stories?", "What creature keeps turning up in {n}'s fiction?",
            "{2}, a {0} {1}.", "There is a {0} {1}, called {2}.") {
        @Override
        List<String> draw(Inventor in, List<String> countries) {
            return List.of(in.pick(COLOURS), in.pick(ANIMALS), in.name(2, 3));
        }
    };

    final String question;
    final String paraphrasedQuestion;
    final String answer;
    final String paraphrase;

    AuthorQuestion(String question, String paraphrasedQuestion, String answer, String paraphrase) {
        this.question = question;
        this.paraphrasedQuestion = paraphrasedQuestion;
        this.answer = answer;
        this.paraphrase = paraphrase;
    }

    /** Draws this kind's facts for one author; birthplaces and homes lie in the world's countries. */
    abstract List<String> draw(Inventor in, List<String> countries);

    /** The kind's name in QaItem and tests, e.g. {@code birth_date}. */
    String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * {@code template} with the author's name and the facts filled in, "a" before a vowel made
     * "an", first letter capitalized.
     */
    static String render(String template, String author, List<String> facts) {
        String s = template.replace("{n}", author);
        for (int i = 0; i < facts.size(); i++) {
            s = s.replace("{" + i + "}", facts.get(i));
        }
        return Inventor.capitalize(AN.matcher(s).replaceAll("$1n "));
    }

    // Facts are never the single word "a" (invented words have two syllables or more), so only
    // template articles match.
    private static final Pattern AN = Pattern.compile("\\b([Aa]) (?=[aeiouAEIOU])");

    private static String job(Inventor in) {
        return in.pick(TRADE_QUALIFIERS) + " " + in.pick(TRADES);
    }
}
