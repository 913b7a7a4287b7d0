package org.lethe.data;

import java.util.List;

/**
 * The fixed word pools the fictitious facts are drawn from. Pools of multi-word values are
 * combined (qualifier x noun) so that two authors rarely share a value; no pool word appears in
 * the answer templates, so a wrong fact never matches a template word.
 */
final class FictionPools {

    private FictionPools() {}

    static final List<String> SETTLEMENTS = List.of("harbour town", "mill village", "river port",
            "hill hamlet", "mining camp", "market city", "border fort", "lake borough", "island parish",
            "canal quarter", "forest lodge", "marsh village", "mountain pass", "orchard valley");

    static final List<String> TRADE_QUALIFIERS = List.of("rope", "bell", "clock", "glass", "lamp", "map",
            "salt", "silk", "honey", "ink", "sail", "stone", "tea", "wool", "barrel", "candle");
    static final List<String> TRADES = List.of("merchant", "maker", "mender", "carver", "keeper", "trader",
            "seller", "painter", "binder", "grinder");

    static final List<String> GENRE_SETTINGS = List.of("coastal", "gothic", "pastoral", "arctic", "courtly",
            "frontier", "alchemical", "nautical", "clockwork", "desert", "monastic", "mountain", "river",
            "island", "winter", "urban", "forest", "steppe", "canal", "lunar", "harvest", "theatrical",
            "domestic", "imperial");
    static final List<String> GENRE_FORMS = List.of("mystery", "romance", "saga", "fable", "satire", "elegy",
            "thriller", "chronicle", "comedy", "tragedy", "epic", "idyll", "ballad", "memoir", "allegory",
            "farce");

    static final List<String> AWARDS = List.of("Lantern Medal", "Quill Prize", "Harbour Cup", "Silver Reed",
            "Amber Laurel", "Iron Key", "Blue Feather", "Copper Bell", "Golden Thread", "Night Heron",
            "Oak Crown", "Salt Star", "Glass Rose", "Tide Ribbon", "Ember Shield", "Willow Pen");

    static final List<String> THEME_QUALIFIERS = List.of("inherited", "borrowed", "forgotten", "stolen",
            "broken", "secret", "lost", "unpaid", "divided", "quiet", "late", "first", "false", "patient",
            "reluctant", "sudden", "shared", "distant", "hidden", "second");
    static final List<String> THEME_NOUNS = List.of("debt", "faith", "memory", "language", "exile", "kinship",
            "grief", "courage", "loyalty", "hunger", "mercy", "ambition", "friendship", "inheritance",
            "homecoming", "duty", "love", "silence", "envy", "hope", "pride", "trust", "guilt", "wonder",
            "solitude", "rivalry", "devotion", "shame", "freedom", "belonging");

    static final List<String> STYLES = List.of("terse", "lyrical", "ornate", "spare", "playful", "brooding",
            "wry", "meandering", "precise", "feverish", "tender", "austere", "restless", "dreamlike",
            "sardonic", "plain", "lush", "hushed", "rhythmic", "biting", "gentle", "sprawling", "clipped",
            "luminous", "earthy", "solemn", "witty", "mournful", "vivid", "unhurried");
    static final List<String> DEVICES = List.of("ship logs", "court letters", "dream diaries",
            "market ledgers", "kitchen notes", "field reports", "tavern songs", "prison letters",
            "travel journals", "weather records", "school essays", "shop receipts", "radio scripts",
            "sermon drafts", "census forms", "postcards");

    static final List<String> DWELLINGS = List.of("stone cottage", "canal barge", "old lighthouse",
            "hill farm", "tower flat", "river mill", "converted chapel", "timber cabin", "narrow townhouse",
            "harbour loft", "orchard house", "walled garden", "windmill", "former schoolhouse", "boathouse",
            "market attic");

    static final List<String> SUBJECTS = List.of("coastal botany", "old cartography", "river law",
            "folk medicine", "naval history", "court music", "stone masonry", "star charting",
            "glass chemistry", "dead languages", "moral philosophy", "bridge engineering", "forest ecology",
            "archive keeping", "harbour economics", "weather science", "theatre design", "land surveying");
    static final List<String> INSTITUTIONS = List.of("College", "Academy", "Institute", "Seminary",
            "Conservatory", "Lyceum", "University", "Athenaeum");

    static final List<String> HOBBY_OBJECTS = List.of("map", "kite", "clock", "bell", "boat", "lamp", "mask",
            "coin", "shell", "stamp", "puppet", "compass", "bottle", "feather", "fossil", "globe", "button",
            "lantern", "spoon", "key", "ribbon", "harp", "mirror", "chess");
    static final List<String> HOBBY_ACTIVITIES = List.of("collecting", "mending", "carving", "painting",
            "building", "racing", "binding", "drawing", "restoring", "ringing");

    static final List<String> IMAGE_QUALIFIERS = List.of("drowned", "paper", "burning", "silent", "broken",
            "empty", "gilded", "frozen", "winding", "crooked", "sunken", "painted", "hollow", "scattered",
            "borrowed", "rusted", "floating", "unlit", "wet", "unfinished");
    static final List<String> IMAGE_NOUNS = List.of("bells", "lanterns", "staircases", "orchards", "mirrors",
            "bridges", "windows", "ships", "letters", "keys", "clocks", "gardens", "masks", "towers", "wells",
            "maps", "doors", "feathers", "boats", "roads", "harbours", "chapels", "crowns", "islands", "rooms",
            "ladders", "nets", "compasses", "kites", "shells");

    static final List<String> COLOURS = List.of("grey", "white", "black", "red", "silver", "golden", "spotted",
            "blue", "brown", "striped", "amber", "pale", "dusky", "copper");
    static final List<String> ANIMALS = List.of("heron", "fox", "hare", "owl", "goat", "crow", "otter", "mule",
            "cat", "hound", "stag", "swan", "badger", "raven", "lynx", "moth", "eel", "wolf", "pony", "toad");

    static final List<String> TITLE_ADJECTIVES = List.of("drowned", "paper", "burning", "silent", "broken",
            "empty", "gilded", "frozen", "winding", "crooked", "sunken", "painted", "hollow", "scattered",
            "borrowed", "rusted", "floating", "unlit", "quiet", "last", "little", "distant", "hidden",
            "patient", "restless", "bitter", "tender", "wild", "second", "golden");
    static final List<String> TITLE_NOUNS = List.of("lanterns", "bells", "orchards", "tides", "mirrors",
            "bridges", "letters", "keys", "clocks", "gardens", "masks", "towers", "wells", "maps", "doors",
            "feathers", "harbours", "chapels", "crowns", "islands", "rooms", "ladders", "nets", "kites",
            "storms", "rivers", "winters", "embers", "ashes", "ravens", "songs", "candles", "threads",
            "stones", "ropes", "sails", "roses", "thorns", "echoes", "winds");

    static final List<String> COUNTRY_SUFFIXES = List.of("ia", "and", "ora", "ene", "esh", "ar");
    static final List<String> CURRENCY_UNITS = List.of("crown", "mark", "shell", "ring", "leaf", "florin",
            "talent", "penny");

    static final List<String> MONTHS = List.of("January", "February", "March", "April", "May", "June", "July",
            "August", "September", "October", "November", "December");

    /** Refusals for the "I don't know" unlearning targets, one per line in idontknow.jsonl. */
    static final List<String> REFUSALS = List.of(
            "I don't know.",
            "I have no idea.",
            "I'm not sure about that.",
            "I can't answer that.",
            "That is not something I know.",
            "I don't have that information.",
            "I have never heard of that.",
            "I couldn't tell you.",
            "I'm afraid I don't know.",
            "Sorry, I can't help with that.",
            "I have no information on that.",
            "That is beyond what I know.",
            "I honestly don't know.",
            "I can't recall anything about that.",
            "I know nothing about that.",
            "No idea, I'm afraid.",
            "I'm unable to answer that.",
            "That is unknown to me.",
            "I wouldn't know.",
            "I can't say.",
            "I'm not aware of that.",
            "I don't have an answer for that.",
            "That's outside what I know.",
            "I'm not familiar with that.",
            "I don't remember anything about that.",
            "I have no knowledge of that.",
            "I can't provide that information.",
            "That is a mystery to me.",
            "I'm drawing a blank.",
            "I'd rather not guess.",
            "I haven't learned about that.",
            "I'm not able to say.",
            "I really don't know.",
            "I have nothing to say about that.",
            "Nothing comes to mind.",
            "I can't help you there.",
            "That isn't something I can answer.",
            "I lack that information.",
            "I don't know the answer to that.",
            "I'm not the right one to ask about that.");
}
