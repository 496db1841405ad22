/*
 * Replies captured from the real spamd (SpamAssassin 4.0.1, Debian 12),
 * "spamd -L" on loopback, answering "REPORT SPAMC/1.5" for spamc's sample
 * GTUBE mail, a hand-made spammy HTML mail and spamc's sample ham. Kept
 * byte for byte (CRLF in spamd's header block, LF in the report).
 */
#ifndef SPAMD_SAMPLES_H
#define SPAMD_SAMPLES_H

static const char REPLY_GTUBE[] =
    "SPAMD/1.1 0 EX_OK\r\n"
    "Content-length: 973\r\n"
    "Spam: True ; 1000.0 / 5.0\r\n"
    "\r\n"
    "Spam detection software, running on the system \"vm\",\n"
    "has identified this incoming email as possible spam.  The original\n"
    "message has been attached to this so you can view it or label\n"
    "similar future email.  If you have any questions, see\n"
    "@@CONTACT_ADDRESS@@ for details.\n"
    "\n"
    "Content preview:  This is the GTUBE, the Generic Test for Unsolicited Bulk Email\n"
    "   If your spam filter supports it, the GTUBE provides a test by which you can\n"
    "   verify that the filter is installed correctly and is detecting incoming spam.\n"
    "   You can send yourself a test mail containing t [...] \n"
    "\n"
    "Content analysis details:   (1000.0 points, 5.0 required)\n"
    "\n"
    " pts rule name              description\n"
    "---- ---------------------- --------------------------------------------------\n"
    "-0.0 NO_RECEIVED            Informational: message has no Received headers\n"
    "-0.0 NO_RELAYS              Informational: message was not relayed via SMTP\n"
    "1000 GTUBE                  BODY: Generic Test for Unsolicited Bulk Email\n"
    "\n";

static const char REPLY_SPAM2[] =
    "SPAMD/1.1 0 EX_OK\r\n"
    "Content-length: 1851\r\n"
    "Spam: True ; 13.6 / 5.0\r\n"
    "\r\n"
    "Spam detection software, running on the system \"vm\",\n"
    "has identified this incoming email as possible spam.  The original\n"
    "message has been attached to this so you can view it or label\n"
    "similar future email.  If you have any questions, see\n"
    "@@CONTACT_ADDRESS@@ for details.\n"
    "\n"
    "Content preview:  CLICK HERE to claim your FREE prize!!! 100% GUARANTEED. Buy\n"
    "   viagra cialis online pharmacy no prescription. Make money fast, work from\n"
    "   home, earn $5000 weekly. Unsubscribe http://198.51.100.7/remove.ph [...] \n"
    "\n"
    "Content analysis details:   (13.6 points, 5.0 required)\n"
    "\n"
    " pts rule name              description\n"
    "---- ---------------------- --------------------------------------------------\n"
    "-0.0 NO_RECEIVED            Informational: message has no Received headers\n"
    " 2.7 MISSING_DATE           Missing Date: header\n"
    " 0.0 MSGID_SHORT            Message-ID is unusually short\n"
    "-0.0 NO_RELAYS              Informational: message was not relayed via SMTP\n"
    " 2.0 TVD_VISIT_PHARMA       BODY: Body mentions online pharmacy\n"
    " 2.7 GUARANTEED_100_PERCENT BODY: One hundred percent guaranteed\n"
    " 0.7 DRUG_ED_ONLINE         BODY: Fast Viagra Delivery\n"
    " 0.8 ONLINE_PHARMACY        BODY: Online Pharmacy\n"
    " 0.2 NORMAL_HTTP_TO_IP      URI: URI host has a public dotted-decimal IPv4\n"
    "                            address\n"
    " 0.0 IP_LINK_PLUS           URI: Dotted-decimal IP address followed by CGI\n"
    " 0.6 HTML_IMAGE_ONLY_08     BODY: HTML: images with 400-800 bytes of words\n"
    " 0.0 HTML_MESSAGE           BODY: HTML included in message\n"
    " 0.0 HTML_FONT_SIZE_HUGE    BODY: HTML font size is huge\n"
    " 0.1 MIME_HTML_ONLY         BODY: Message only has text/html MIME parts\n"
    " 1.8 DRUGS_ERECTILE         Refers to an erectile drug\n"
    " 0.0 LOTS_OF_MONEY          Huge... sums of money\n"
    " 1.0 ADVANCE_FEE_2_NEW_MONEY Advance Fee fraud and lots of money\n"
    " 1.0 TO_NO_BRKTS_PCNT       To: lacks brackets + percentage\n"
    "\n";

static const char REPLY_HAM[] =
    "SPAMD/1.1 0 EX_OK\r\n"
    "Content-length: 596\r\n"
    "Spam: False ; 0.0 / 5.0\r\n"
    "\r\n"
    "Spam detection software, running on the system \"vm\",\n"
    "has NOT identified this incoming email as spam.  The original\n"
    "message has been attached to this so you can view it or label\n"
    "similar future email.  If you have any questions, see\n"
    "@@CONTACT_ADDRESS@@ for details.\n"
    "\n"
    "Content preview:  -----BEGIN PGP SIGNED MESSAGE----- TBTF ping for 2001-04-20:\n"
    "   Reviving T a s t y B i t s f r o m t h e T e c h n o l o g y F r o n t \n"
    "\n"
    "Content analysis details:   (0.0 points, 5.0 required)\n"
    "\n"
    " pts rule name              description\n"
    "---- ---------------------- --------------------------------------------------\n"
    "\n";

static const char REPLY_SYMBOLS_GTUBE[] = "SPAMD/1.1 0 EX_OK\r\n"
					  "Content-length: 27\r\n"
					  "Spam: True ; 1000.0 / 5.0\r\n"
					  "\r\n"
					  "GTUBE,NO_RECEIVED,NO_RELAYS";

/* spamd's answers to a malformed request, a bad command, a short body. */
static const char REPLY_EX_BADHDR[] =
    "SPAMD/1.0 76 Bad header line: (header not in 'Name: value' format)\r\n";
static const char REPLY_EX_BADCMD[] = "SPAMD/1.0 76 Bad header line: FOO SPAMC/1.5\r\n";
static const char REPLY_EX_CLEN[] =
    "SPAMD/1.0 76 Bad header line: (Content-Length mismatch: Expected 100 bytes, got 18 bytes)\r\n";

/* X-Spam-Status tests= that SpamAssassin itself wrote for REPLY_SPAM2's mail (HEADERS request). */
static const char TESTS_SPAM2[] =
    "ADVANCE_FEE_2_NEW_MONEY,DRUGS_ERECTILE,DRUG_ED_ONLINE,GUARANTEED_100_PERCENT,"
    "HTML_FONT_SIZE_HUGE,HTML_IMAGE_ONLY_08,HTML_MESSAGE,IP_LINK_PLUS,LOTS_OF_MONEY,"
    "MIME_HTML_ONLY,MISSING_DATE,MSGID_SHORT,NORMAL_HTTP_TO_IP,NO_RECEIVED,NO_RELAYS,"
    "ONLINE_PHARMACY,TO_NO_BRKTS_PCNT,TVD_VISIT_PHARMA";

#endif
