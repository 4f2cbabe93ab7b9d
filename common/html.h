// Text put into HTML: the web application's server-made pages (api/web/) and load_bench's
// report (bench/). One copy for every folder.
//
//   page += "<p>" + HtmlEscape(message) + "</p>";
#pragma once

#include <string>
#include <string_view>

namespace masa {

// `text` with &, <, >, " and ' escaped, safe in HTML text and in a quoted attribute value.
std::string HtmlEscape(std::string_view text);

}  // namespace masa
