#include "common/html.h"

#include "gtest/gtest.h"

namespace masa {
namespace {

TEST(Html, EscapesWhatWouldOpenATagAnEntityOrLeaveAnAttribute) {
  EXPECT_EQ(HtmlEscape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(HtmlEscape("plain text, 1.5 ms"), "plain text, 1.5 ms");
  EXPECT_EQ(HtmlEscape(std::string_view("a\0b", 3)), std::string("a\0b", 3));
  EXPECT_EQ(HtmlEscape(""), "");
}

}  // namespace
}  // namespace masa
