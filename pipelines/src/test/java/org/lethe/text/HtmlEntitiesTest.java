package org.lethe.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

/** Character references decode as a browser reads them. */
class HtmlEntitiesTest {

    @Test
    void decodesNamedDecimalAndHexReferences() {
        assertEquals("Fish & chips < £5 — it’s “café” …",
                HtmlEntities.decode("Fish &amp; chips &lt; &pound;5 &mdash; it&#8217;s &#x201C;caf&eacute;&#X201d; &hellip;"));
        assertEquals("'\"'\u00A0", HtmlEntities.decode("&apos;&quot;&#39;&nbsp;"));
        assertEquals("🙂", HtmlEntities.decode("&#128578;"));
    }

    @Test
    void decodesOncePerReference() {
        assertEquals("&amp; is an escaped ampersand", HtmlEntities.decode("&amp;amp; is an escaped ampersand"));
    }

    @Test
    void leavesTextWithoutAValidReferenceAlone() {
        String text = "AT&T &copy 2020 &bogus; & ;& &#; &#xZZ;";
        assertSame(text, HtmlEntities.decode(text));
    }

    @Test
    void followsHtml5ForOddNumericReferences() {
        // 0x80-0x9F are Windows-1252: &#146; is the right single quote in old scraped pages.
        assertEquals("it’s €5", HtmlEntities.decode("it&#146;s &#128;5"));
        assertEquals("\uFFFD\uFFFD\uFFFD", HtmlEntities.decode("&#0;&#xD800;&#x110000;"));
    }

    @Test
    void knowsTheHtml4SetPlusApos() {
        assertEquals(253, HtmlEntities.namedCount());
    }
}
