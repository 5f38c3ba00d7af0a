// response_mode=form_post: post the authorization response to the app at once. The page's
// Continue button does the same where JavaScript does not run.
(function () {
  "use strict";
  var form = document.getElementById("form-post");
  if (form) form.submit();
})();
